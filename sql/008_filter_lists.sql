-- 008: the History page's agent and project lists without reading every
-- session (issue 9). SELECT DISTINCT over a million sessions read the whole
-- index (about 100 ms each, on every uncached render); the lists are now
-- walked one distinct value at a time (a "loose index scan", see
-- SESSION_AGENTS and SESSION_PROJECTS in cgi/db_sql.h), which needs agents
-- ordered within each project.
CREATE INDEX IF NOT EXISTS sessions_by_project_agent ON sessions (project, agent);
