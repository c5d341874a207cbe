-- Trigger `directory_revision` on users (AFTER UPDATE OF full_name, email): the names every board shows changed.
-- Noted (`note_revision_bump`, no lock) and written at commit, one more per transaction (`apply_revision_bumps`):
-- a sign-in that renames its person does not hold the one row while it goes on.
CREATE OR REPLACE FUNCTION public.bump_directory_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.directory_bump', 'on');
  RETURN NULL;
END $$;

CREATE TRIGGER directory_revision AFTER UPDATE OF full_name, email ON public.users FOR EACH ROW
  WHEN (((old.full_name)::text IS DISTINCT FROM (new.full_name)::text) OR ((old.email)::text IS DISTINCT FROM (new.email)::text))
  EXECUTE FUNCTION bump_directory_revision();
