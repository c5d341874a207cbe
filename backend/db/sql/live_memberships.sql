-- A person's active memberships in the active tenants of a province, each with whether it gives a province-level
-- right over the province's tenants (a province reviewer, or a province admin of the Sở Nội vụ). `session_person`,
-- `province_scope` and `session_principal` read them, under `own_memberships` (the caller sets `app.user_id` to
-- the person). In SQL with its caller's rights and no settings of its own, so that PostgreSQL inlines it into
-- their statements: a tenant policy asks `session_person` on every statement.
CREATE OR REPLACE FUNCTION public.live_memberships(person uuid, province uuid)
RETURNS TABLE (tenant_id uuid, role character varying, unit_id uuid, province_right boolean)
LANGUAGE sql STABLE
AS $$
  SELECT m.tenant_id, m.role, m.unit_id,
         m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs')
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id
   WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = province
$$;
