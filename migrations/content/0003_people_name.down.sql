DROP INDEX content.people_name_idx;
