# Dangerous argument patterns: refused in every environment, whatever else allows the call.
package warden

import data.warden.settings

# name => RE2 pattern, matched against every string inside the arguments.
dangerous_patterns := {
	"recursive delete": `(?i)\brm\s+-[a-z]*r[a-z]*f|\brm\s+-[a-z]*f[a-z]*r`,
	"path traversal": `(^|[\\/])\.\.([\\/]|$)`,
	"credential file": `(?i)(^|/)(\.ssh/|\.aws/credentials|\.netrc|\.env$|etc/shadow|etc/passwd)`,
	"pipe to shell": `(?i)(curl|wget)\s[^|]*\|\s*(ba|z)?sh\b`,
	"SQL drop": `(?i)\bdrop\s+(table|database|schema)\b`,
	"command substitution": `\$\([^)]*\)`,
	"backtick substitution": "`[^`]+`",
}

# All patterns as one alternation: one regex pass per string for the common, harmless case;
# the individual patterns run only to name what matched.
any_dangerous := concat("|", [sprintf("(?:%s)", [p]) | some p in dangerous_patterns])

deny contains msg if {
	input.request.method == "tools/call"
	walk(input.request.arguments, [path, value])
	is_string(value)
	regex.match(any_dangerous, value)
	some name, pattern in dangerous_patterns
	regex.match(pattern, value)
	msg := sprintf("dangerous argument (%s) at /%s", [name, concat("/", [sprintf("%v", [p]) | some p in path])])
}

# Scanner findings on the incoming arguments.
deny contains msg if {
	input.request.method == "tools/call"
	some f in input.scan.findings
	f.direction == "in"
	f.detector in settings.blocking_detectors
	f.score >= settings.finding_threshold
	msg := sprintf("scanner found %s (%s) at %s", [f.detector, f.kind, f.location])
}
