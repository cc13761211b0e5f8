-- Activities most recently changed first (the home page's recent changes): an index range read
-- backwards until enough visible ones are found, however many activities there are.
CREATE INDEX activities_by_updated ON activities (updated_at);
