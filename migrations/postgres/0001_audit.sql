-- The audit trail: one row per judged item.
create table submissions (
    submission_id   text primary key,
    run_id          text,
    item_id         text,
    policy          text not null,
    policy_version  text not null,
    kind            text not null,
    task            jsonb not null,
    prompt          text,
    completion      text not null,
    extracted       text,
    verdict         text not null,
    format_ok       boolean not null,
    reward          double precision not null,
    components      jsonb not null,
    details         jsonb not null,
    elapsed_ms      double precision not null,
    service_version text not null,
    created_at      timestamptz not null
);

-- Listings are newest first (descending id) within the filters auditors use most.
create index submissions_run_id_idx on submissions (run_id, submission_id);
create index submissions_verdict_idx on submissions (verdict, submission_id);
create index submissions_policy_idx on submissions (policy, submission_id);
-- Time-range filters and retention.
create index submissions_created_at_idx on submissions (created_at);

-- Runs that retention must never prune.
create table runs (
    run_id     text primary key,
    keep       boolean not null default false,
    updated_at timestamptz not null
);

-- Re-judgings of stored submissions with the code and policy of the day.
create table reverifications (
    reverification_id text primary key,
    submission_id     text not null references submissions (submission_id) on delete cascade,
    policy_version    text not null,
    service_version   text not null,
    old_verdict       text not null,
    old_reward        double precision not null,
    new_verdict       text not null,
    new_reward        double precision not null,
    drifted           boolean not null,
    details           jsonb not null,
    created_at        timestamptz not null
);

create index reverifications_submission_id_idx on reverifications (submission_id);
