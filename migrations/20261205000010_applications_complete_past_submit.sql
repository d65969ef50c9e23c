-- SPEC §3: an application is complete when it is submitted, and stays so until a decision
-- asks for changes (the marketer may then edit it; resubmitting checks completeness again).
-- The flow checks it (domain::application::Parts::complete); the database holds it too.
ALTER TABLE applications ADD CONSTRAINT applications_complete_past_submit CHECK (
    status NOT IN ('submitted', 'in_review', 'approved', 'rejected')
    OR (creative IS NOT NULL AND landing IS NOT NULL AND requested_starts_at IS NOT NULL
        AND requested_ends_at IS NOT NULL AND budget_total_fen IS NOT NULL)
);
