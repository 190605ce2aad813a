// The service search box: an ARIA combobox over GET /api/v1/services?search=.
// Arrow keys move through the suggestions, Enter picks (the highlighted one, else the
// exact match, else the first), Escape closes.

import { h } from "./elements.js";

const DELAY_MS = 150;

/** Suggestions in a useful order: exact match, then ids starting with the text, then the rest. */
export function rankSuggestions(items, text) {
  const needle = text.toLowerCase();
  const rank = (item) => {
    const id = item.service_id.toLowerCase();
    if (id === needle) return 0;
    if (id.startsWith(needle)) return 1;
    return 2;
  };
  return [...items].sort((a, b) => rank(a) - rank(b) || (a.service_id < b.service_id ? -1 : 1));
}

export class Typeahead {
  constructor(input, listbox, { search, onPick, onError }) {
    this.input = input;
    this.listbox = listbox;
    this.search = search;
    this.onPick = onPick;
    this.onError = onError;
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.pending = null; // the promise of the latest search
    this.generation = 0;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    listbox.setAttribute("role", "listbox");
    input.addEventListener("input", () => this.schedule());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  schedule() {
    clearTimeout(this.timer);
    const text = this.input.value.trim();
    if (!text) {
      this.close();
      return;
    }
    this.timer = setTimeout(() => {
      this.pending = this.fetch(text);
    }, DELAY_MS);
  }

  async fetch(text) {
    const generation = ++this.generation;
    try {
      const page = await this.search(text);
      if (generation !== this.generation) return this.items;
      this.show(rankSuggestions(page.items, text));
    } catch (error) {
      if (generation === this.generation) {
        this.close();
        this.onError(error);
      }
    }
    return this.items;
  }

  show(items) {
    this.items = items;
    this.active = -1;
    this.listbox.replaceChildren(
      ...items.map((item, i) =>
        h(
          "li",
          {
            role: "option",
            id: `${this.listbox.id}-${i}`,
            class: "suggestion",
            "data-service-id": item.service_id,
            "aria-selected": "false",
            onmousedown: (event) => {
              event.preventDefault(); // keep the focus in the input
              this.pick(item.service_id);
            },
          },
          h("span", { class: "suggestion-id" }, item.service_id),
          item.team ? h("span", { class: "suggestion-team" }, item.team) : null,
          item.discovered ? h("span", { class: "suggestion-discovered" }, "discovered") : null,
        ),
      ),
    );
    if (!items.length) {
      this.listbox.append(h("li", { class: "no-match", role: "presentation" }, "No service matches."));
    }
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  }

  highlight(index) {
    const options = [...this.listbox.querySelectorAll('[role="option"]')];
    if (!options.length) return;
    this.active = (index + options.length) % options.length;
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === this.active)));
    this.input.setAttribute("aria-activedescendant", options[this.active].id);
    options[this.active].scrollIntoView({ block: "nearest" });
  }

  async onKey(event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (this.listbox.hidden && this.input.value.trim()) await this.fetch(this.input.value.trim());
      this.highlight(this.active + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      this.highlight(this.active - 1);
    } else if (event.key === "Escape") {
      this.close();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (this.active >= 0 && !this.listbox.hidden) {
        this.pick(this.items[this.active].service_id);
        return;
      }
      // Enter before the suggestions came: search now, then pick the best one.
      clearTimeout(this.timer);
      const items = await this.fetch(text);
      const exact = items.find((item) => item.service_id === text);
      if (exact || items.length) this.pick((exact ?? items[0]).service_id);
    }
  }

  pick(serviceId) {
    clearTimeout(this.timer);
    this.generation += 1;
    this.input.value = serviceId;
    this.close();
    this.onPick(serviceId);
  }
}
