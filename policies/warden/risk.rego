# Risk levels from the tool registry: high and critical tools need a human approval, as does
# any tool the registry marks requires_approval.
package warden

import data.warden.settings

require_approval if {
	input.request.method == "tools/call"
	input.registry.risk in settings.approval_risks
}

require_approval if {
	input.request.method == "tools/call"
	input.registry.requires_approval == true
}

risk_tags contains sprintf("risk:%s", [input.registry.risk]) if registered
