DROP TRIGGER IF EXISTS titles_search_words ON content.titles;
DROP FUNCTION IF EXISTS content.add_search_words();
DROP FUNCTION IF EXISTS content.title_words(text, text, text, text[]);
DROP TABLE IF EXISTS content.search_words;
