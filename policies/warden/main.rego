# The decision document warden asks for: data.warden.decision.
#
# Default deny: `allow` is false unless a rule in this package allows the request.
# Deny wins: any message in `deny` refuses the request whatever `allow` says.
# See docs/decision-input.md for the input document and docs/policy-engine.md for the output.
package warden

import data.warden.settings

default allow := false

decision := {
	"allow": allow,
	"deny": deny,
	"reasons": reasons,
	"require_approval": require_approval,
	"obligations": obligations,
	"audit_tags": audit_tags,
}

# Requests that name a tool: calls, and the per-tool visibility check of tools/list.
tool_request if input.request.method in {"tools/call", "tools/list"}

registered if input.registry != null

# A tool outside the active registry is never allowed (the registry stage hides it first;
# this keeps the policy safe on its own, e.g. behind another proxy).
deny contains msg if {
	tool_request
	not registered
	msg := sprintf("tool %s/%s is not in the %s registry", [input.request.server, input.request.tool, input.environment])
}

deny contains msg if {
	not input.environment in settings.environments
	msg := sprintf("environment %s has no policy", [input.environment])
}

# Why a request was allowed: collected from the rules that allowed it.
reasons contains r if some r in allow_reasons

default require_approval := false

obligations contains o if some o in env_obligations

audit_tags contains t if some t in risk_tags
