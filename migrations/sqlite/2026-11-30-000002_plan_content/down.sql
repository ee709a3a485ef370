DROP TABLE task_extensions;
DROP TABLE tasks;
DROP TABLE indicators;
