-- Trigger `directory_revision` on users (AFTER UPDATE OF full_name, email): the names every board shows changed.
CREATE OR REPLACE FUNCTION public.bump_directory_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
  RETURN NULL;
END $$;

CREATE TRIGGER directory_revision AFTER UPDATE OF full_name, email ON public.users FOR EACH ROW
  WHEN (((old.full_name)::text IS DISTINCT FROM (new.full_name)::text) OR ((old.email)::text IS DISTINCT FROM (new.email)::text))
  EXECUTE FUNCTION bump_directory_revision();
