-- GET /v1/campaigns?state=live (and scheduled): the page's ids from the index alone. Both
-- states need a whitelisted campaign that is not paused; the times are read from the index
-- too, so the many newest campaigns that have not started yet are passed over without
-- reading the table (15 ms a page at 200k campaigns before, about 1 ms with it).
CREATE INDEX campaigns_runnable_idx
    ON campaigns (created_at DESC, id DESC) INCLUDE (starts_at, ends_at)
    WHERE whitelisted AND NOT paused;
