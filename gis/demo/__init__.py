"""The demo county: a deterministic synthetic county (townships, rivers, sites, problems,
complaints, inspections) and one demo sign-in per role. Same seed and reference date, same rows.
"""
