# Tunables of the shipped policies. Edit these (or override them with data of your own).
package warden.settings

# Environments with a policy (a partial set: a policy file of your own can add more, e.g.
# `environments contains "qa"`). Any other environment is denied.
environments contains "dev"

environments contains "staging"

environments contains "prod"

# Environments treated like dev: every registered tool, budgets instead of grants.
loose_environments contains "dev"

# Calls per client session before dev refuses further calls. Override without editing this
# file with a data file in the policy paths: {"warden_config": {"dev_session_budget": 5000}}.
default dev_session_budget := 1000

dev_session_budget := data.warden_config.dev_session_budget

# Per-subject rate limits handed to the limits stage as obligations.
rate_limits := {
	"dev": {"type": "rate_limit", "scope": "subject", "limit": 600, "per": "minute"},
	"staging": {"type": "rate_limit", "scope": "subject", "limit": 120, "per": "minute"},
	"prod": {"type": "rate_limit", "scope": "subject", "limit": 60, "per": "minute"},
}

# Risk levels that need a human approval.
approval_risks := {"high", "critical"}

# Team examples: what each team may use in staging and prod.
#   labels_suffix: tools whose registry labels end with one of these (read-only tools end in -read)
#   any_label: every registered tool except the excluded labels
teams := {
	"support": {"labels_suffix": ["-read"]},
	"data-science": {"any_label": true, "exclude_labels": ["secrets"]},
}

# Findings from the scanner (input.scan.findings) that refuse a call at or above this score.
finding_threshold := 0.8

blocking_detectors := {"injection", "secrets"}
