# Environment rules: dev is loose with budgets, staging allows registered tools for known
# callers, prod is strict (only what a team rule grants, never anonymous callers).
package warden

import data.warden.settings

# ---- dev (and other loose environments): every registered tool, within the session budget ----

loose if input.environment in settings.loose_environments

allow if {
	loose
	tool_request
	registered
}

allow if {
	loose
	not tool_request
}

allow_reasons contains sprintf("%s: registered tool", [input.environment]) if {
	loose
	tool_request
	registered
}

# The budget is an obligation the limits stage enforces with its own per-session counter
# (refusing with session_budget_exhausted once it is spent). Reading input.session.calls here
# instead would make every decision differ from the previous call's, so none could be cached.
env_obligations contains {"type": "session_budget", "calls": settings.dev_session_budget} if {
	loose
	input.request.method == "tools/call"
}

# ---- staging: registered tools for authenticated callers; critical tools never ----

allow if {
	input.environment == "staging"
	authenticated
	tool_request
	registered
	input.registry.risk != "critical"
}

allow if {
	input.environment == "staging"
	authenticated
	not tool_request
}

allow_reasons contains "staging: registered tool" if {
	input.environment == "staging"
	registered
}

# ---- prod: team grants only ----

allow if {
	input.environment == "prod"
	authenticated
	tool_request
	team_grants
}

allow if {
	input.environment == "prod"
	authenticated
	input.request.method in {"resources/read", "prompts/get"}
}

deny contains msg if {
	input.environment == "prod"
	input.registry.risk == "critical"
	not "admin" in input.subject.roles
	msg := sprintf("critical tool %s needs the admin role in prod", [input.request.tool])
}

# Outside dev, anonymous callers get nothing.
authenticated if input.subject.auth_method != "anonymous"

deny contains "anonymous callers are refused outside dev" if {
	not loose
	input.subject.auth_method == "anonymous"
}

env_obligations contains o if {
	input.request.method == "tools/call"
	o := settings.rate_limits[input.environment]
}
