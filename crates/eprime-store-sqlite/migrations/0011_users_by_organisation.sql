-- The notifier looks up, for every change, the accounts of the organisations and nations it
-- concerns (a provider's staff, a nation's officers) and NATO's approvers: by role within an
-- organisation or nation, an index probe instead of a pass over every account.
CREATE INDEX users_by_organisation ON users (organisation, role);
CREATE INDEX users_by_partner ON users (partner, role);
CREATE INDEX users_by_role ON users (role);
