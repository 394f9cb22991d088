"""OneThing engine: deploys BPMN definitions, runs cases on SpiffWorkflow, persists
every step, keeps the audit chain. No Flask in here: web/ calls this package."""
