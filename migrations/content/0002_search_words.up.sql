-- The search lexicon: every word of a title's names, people and tags, for
-- correcting typos. A misspelt query word is replaced by its most similar
-- lexicon word (trigram similarity over this small table), and the
-- corrected query then runs on the full-text index, so typo tolerance costs
-- a lookup in tens of thousands of words instead of a trigram scan over
-- every title. Words are only added: a word no title uses any more can
-- still be suggested, and then simply matches nothing.
CREATE TABLE content.search_words (
    word text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON content.search_words USING gin (word gin_trgm_ops);

-- title_words splits the lexicon's source text into lowercase words of three
-- characters or more.
CREATE FUNCTION content.title_words(name text, original_name text, people_text text, tags text[]) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT DISTINCT w FROM regexp_split_to_table(
            lower(name || ' ' || original_name || ' ' || people_text || ' ' || content.text_list(tags)),
            '[^[:alnum:]]+') AS w
        WHERE length(w) >= 3
    $$;

CREATE FUNCTION content.add_search_words() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- Sorted, so concurrent writers take the words' index locks in one order.
    INSERT INTO content.search_words (word)
    SELECT w FROM content.title_words(NEW.name, NEW.original_name, NEW.people_text, NEW.tags) AS w ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER titles_search_words
    AFTER INSERT OR UPDATE OF name, original_name, people_text, tags ON content.titles
    FOR EACH ROW EXECUTE FUNCTION content.add_search_words();

INSERT INTO content.search_words (word)
SELECT DISTINCT w FROM content.titles t, content.title_words(t.name, t.original_name, t.people_text, t.tags) AS w
ON CONFLICT DO NOTHING;
