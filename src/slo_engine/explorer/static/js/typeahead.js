// The service search box: an ARIA combobox over GET /api/v1/services?search=.
// Arrow keys move through the suggestions, Enter picks (the highlighted one, else the
// exact match, else the first), Escape closes. Enter only ever picks among the answers
// to the text in the box: never from an older search's list, a failed search, or one a
// newer search has overtaken.

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
    this.itemsText = null; // the text `items` answer
    this.active = -1;
    this.timer = null;
    this.generation = 0;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    listbox.setAttribute("role", "listbox");
    input.addEventListener("input", () => {
      this.unhighlight(); // the list shown answers the text before this change
      this.schedule();
    });
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
    this.timer = setTimeout(() => this.fetch(text), DELAY_MS);
  }

  /**
   * Searches for `text` and shows the answer. Returns the ranked suggestions, or [] when
   * the search failed (the error is reported) or a newer search (or a pick) overtook it:
   * never an older search's suggestions.
   */
  async fetch(text) {
    const generation = ++this.generation;
    try {
      const page = await this.search(text);
      if (generation !== this.generation) return [];
      const items = rankSuggestions(page.items, text);
      this.show(items, text);
      return items;
    } catch (error) {
      if (generation === this.generation) {
        this.items = [];
        this.itemsText = null;
        this.close();
        this.onError(error);
      }
      return [];
    }
  }

  show(items, text) {
    this.items = items;
    this.itemsText = text;
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

  unhighlight() {
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    for (const option of this.listbox.querySelectorAll('[role="option"]')) {
      option.setAttribute("aria-selected", "false");
    }
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
      const text = this.input.value.trim();
      if (!text) return;
      if (this.listbox.hidden || this.itemsText !== text) {
        clearTimeout(this.timer);
        if (!(await this.fetch(text)).length || this.input.value.trim() !== text) return;
      }
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
      const current = this.itemsText === text;
      if (current && this.active >= 0 && !this.listbox.hidden) {
        this.pick(this.items[this.active].service_id);
        return;
      }
      // Enter before the suggestions for this text came: search now, then pick the best
      // one, unless the search failed, was overtaken, or the text changed meanwhile.
      clearTimeout(this.timer);
      const items = current ? this.items : await this.fetch(text);
      if (this.input.value.trim() !== text) return;
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
