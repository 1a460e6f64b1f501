-- The audit trail: one row per judged item. Timestamps are integer milliseconds since the
-- Unix epoch (UTC); JSON columns hold text.
create table submissions (
    submission_id   text primary key not null,
    run_id          text,
    item_id         text,
    policy          text not null,
    policy_version  text not null,
    kind            text not null,
    task            text not null,
    prompt          text,
    completion      text not null,
    extracted       text,
    verdict         text not null,
    format_ok       integer not null,
    reward          real not null,
    components      text not null,
    details         text not null,
    elapsed_ms      real not null,
    service_version text not null,
    created_at      integer not null
);

-- Listings are newest first (descending id) within the filters auditors use most.
create index submissions_run_id_idx on submissions (run_id, submission_id);
create index submissions_verdict_idx on submissions (verdict, submission_id);
create index submissions_policy_idx on submissions (policy, submission_id);
-- Time-range filters and retention.
create index submissions_created_at_idx on submissions (created_at);

-- Runs that retention must never prune.
create table runs (
    run_id     text primary key not null,
    keep       integer not null default 0,
    updated_at integer not null
);

-- Re-judgings of stored submissions with the code and policy of the day.
create table reverifications (
    reverification_id text primary key not null,
    submission_id     text not null references submissions (submission_id) on delete cascade,
    policy_version    text not null,
    service_version   text not null,
    old_verdict       text not null,
    old_reward        real not null,
    new_verdict       text not null,
    new_reward        real not null,
    drifted           integer not null,
    details           text not null,
    created_at        integer not null
);

create index reverifications_submission_id_idx on reverifications (submission_id);
