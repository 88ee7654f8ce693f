# Team examples: the support team may only use read-only tools; data science gets broad access.
# Teams come from input.subject.team (set by identity: API key or JWT claim).
package warden

import data.warden.settings

team := settings.teams[input.subject.team]

team_grants if {
	some suffix in team.labels_suffix
	some label in input.registry.labels
	endswith(label, suffix)
}

team_grants if {
	team.any_label
	registered
	not excluded_label
}

excluded_label if {
	some label in input.registry.labels
	label in team.exclude_labels
}

allow_reasons contains msg if {
	team_grants
	msg := sprintf("team %s may use %s", [input.subject.team, input.request.tool])
}

# Staging honours the same limits for teams that have them: support stays read-only.
deny contains msg if {
	input.environment in {"staging", "prod"}
	input.request.method == "tools/call"
	team
	not team_grants
	msg := sprintf("team %s may not use %s", [input.subject.team, input.request.tool])
}
