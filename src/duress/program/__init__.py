"""The duress program around the system: routing previews and diagrams, surveys, drills, audits."""
