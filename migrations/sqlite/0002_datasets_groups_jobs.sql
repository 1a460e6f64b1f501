-- Registered datasets: answer keys kept beside the verifier, versioned by content hash, so a
-- client names an entry instead of resending (and possibly altering) its answer.
create table datasets (
    name       text not null,
    version    text not null,
    shape      text not null,
    entries    integer not null,
    created_at integer not null,
    primary key (name, version)
);

create table dataset_entries (
    name      text not null,
    version   text not null,
    entry_id  text not null,
    position  integer not null,
    prompt    text,
    task      text not null,
    metadata  text not null,
    primary key (name, version, entry_id),
    foreign key (name, version) references datasets (name, version) on delete cascade
);

-- What a submission was judged against and with: the dataset entry (`name@version:id`), the
-- caller's group, and the length signals length shaping reads, so re-checks reproduce them.
alter table submissions add column entry text;
alter table submissions add column group_id text;
alter table submissions add column truncated integer not null default 0;
alter table submissions add column completion_tokens integer;

-- Whole-run re-checks run as background jobs whose progress survives a restart: the cursor is
-- the last submission id re-judged, committed with that batch's re-checks.
create table reverify_jobs (
    job_id     text primary key not null,
    run_id     text not null,
    status     text not null,
    total      integer not null,
    processed  integer not null,
    changed    integer not null,
    drifted    integer not null,
    cursor     text,
    error      text,
    created_at integer not null,
    updated_at integer not null
);

create index reverify_jobs_run_id_idx on reverify_jobs (run_id, job_id);

alter table reverifications add column job_id text;
create index reverifications_job_id_idx on reverifications (job_id, submission_id);
