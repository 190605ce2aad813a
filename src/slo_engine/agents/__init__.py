"""Tools for AI agents over the Model Context Protocol (MCP), on the official MCP SDK.

Six read-only tools (`get_dependencies`, `get_impact`, `get_availability_ceiling`,
`list_cycles`, `search_services`, `what_changed`) answer from the HTTP API and cut each
answer to fit a model's context: a summary first, then details capped, with what was
left out and how to get it (summaries.py). Two transports share the tools (tools.py):

* stdio (stdio.py, `slo-cli mcp`): a process an agent's client starts; the tools call a
  running server's HTTP API with an API key, so its auth, scopes and limits apply.
* streamable HTTP at `/mcp` inside the server (http.py, `install_mcp`): behind the same
  access check as the routes; the tools call the app's own routes in process with the
  caller's credentials.

docs/agents.md is the user's guide.
"""
