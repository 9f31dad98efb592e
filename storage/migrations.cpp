#include "storage/migrations.hpp"

#include <array>
#include <string>

namespace releasebot::storage {

namespace {

struct migration {
  int version;
  const char* description;
  const char* sql;
};

// Never edit a migration that has shipped: add a new one.
constexpr std::array migrations{
    migration{1, "releases, process records, audit trail, processed events, outbox", R"sql(
CREATE TABLE releases (
  id             INTEGER PRIMARY KEY,
  version        TEXT NOT NULL UNIQUE,
  major          INTEGER NOT NULL,
  minor          INTEGER NOT NULL,
  patch          INTEGER NOT NULL,
  type           TEXT NOT NULL,
  title          TEXT NOT NULL DEFAULT '',
  stage          TEXT NOT NULL,
  state          TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','closed','cancelled')),
  coordinator    TEXT NOT NULL,
  platform       TEXT NOT NULL,
  channel        TEXT NOT NULL,
  thread_ref     TEXT,
  forced_reason  TEXT,
  cancel_reason  TEXT,
  unit_tests     INTEGER,
  created_at     TEXT NOT NULL,
  ended_at       TEXT
);
CREATE INDEX releases_state ON releases(state);

CREATE TABLE milestones (
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  name        TEXT NOT NULL,
  planned_at  TEXT NOT NULL,
  PRIMARY KEY (release_id, name)
);

CREATE TABLE checklist_marks (
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  stage       TEXT NOT NULL,
  item        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('open','done','na')),
  note        TEXT NOT NULL DEFAULT '',
  marked_by   TEXT NOT NULL,
  marked_at   TEXT NOT NULL,
  PRIMARY KEY (release_id, stage, item)
);

CREATE TABLE readiness (
  release_id    INTEGER NOT NULL REFERENCES releases(id),
  team          TEXT NOT NULL,
  confirmed_by  TEXT NOT NULL,
  note          TEXT NOT NULL DEFAULT '',
  confirmed_at  TEXT NOT NULL,
  PRIMARY KEY (release_id, team)
);

CREATE TABLE tickets (
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  ticket      TEXT NOT NULL,
  resolved    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (release_id, ticket)
);

CREATE TABLE signoff_requests (
  id            INTEGER PRIMARY KEY,
  release_id    INTEGER NOT NULL REFERENCES releases(id),
  role          TEXT NOT NULL,
  assignee      TEXT NOT NULL,
  requested_by  TEXT NOT NULL,
  requested_at  TEXT NOT NULL,
  answered_at   TEXT,
  card_outbox_id INTEGER
);
CREATE INDEX signoff_requests_release ON signoff_requests(release_id);

CREATE TABLE signoff_decisions (
  id          INTEGER PRIMARY KEY,
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  role        TEXT NOT NULL,
  decided_by  TEXT NOT NULL,
  decision    TEXT NOT NULL CHECK (decision IN ('approved','rejected')),
  note        TEXT NOT NULL DEFAULT '',
  retroactive INTEGER NOT NULL DEFAULT 0,
  decided_at  TEXT NOT NULL
);
CREATE INDEX signoff_decisions_release ON signoff_decisions(release_id);

CREATE TABLE stage_passages (
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  stage       TEXT NOT NULL,
  entered_at  TEXT NOT NULL,
  left_at     TEXT,
  override_by TEXT,
  override_reason TEXT,
  PRIMARY KEY (release_id, stage)
);

CREATE TABLE deployments (
  id                  INTEGER PRIMARY KEY,
  release_id          INTEGER NOT NULL REFERENCES releases(id),
  environment         TEXT NOT NULL,
  outcome             TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed','rolled_back')),
  started_by          TEXT NOT NULL,
  started_at          TEXT NOT NULL,
  finished_at         TEXT,
  estimated_downtime  INTEGER,
  actual_downtime     INTEGER,
  reason              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_release ON deployments(release_id);

CREATE TABLE deployment_steps (
  id             INTEGER PRIMARY KEY,
  deployment_id  INTEGER NOT NULL REFERENCES deployments(id),
  text           TEXT NOT NULL,
  reported_by    TEXT NOT NULL,
  reported_at    TEXT NOT NULL
);

CREATE TABLE incidents (
  id           INTEGER PRIMARY KEY,
  release_id   INTEGER NOT NULL REFERENCES releases(id),
  severity     TEXT NOT NULL,
  description  TEXT NOT NULL,
  reported_by  TEXT NOT NULL,
  reported_at  TEXT NOT NULL
);

CREATE TABLE reviews (
  release_id  INTEGER PRIMARY KEY REFERENCES releases(id),
  started_by  TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  closed_at   TEXT
);

CREATE TABLE review_items (
  id          INTEGER PRIMARY KEY,
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  kind        TEXT NOT NULL CHECK (kind IN ('good','improve','action')),
  text        TEXT NOT NULL,
  owner       TEXT,
  added_by    TEXT NOT NULL,
  added_at    TEXT NOT NULL
);

CREATE TABLE role_grants (
  user_id     TEXT NOT NULL,
  role        TEXT NOT NULL,
  granted_by  TEXT NOT NULL,
  granted_at  TEXT NOT NULL,
  PRIMARY KEY (user_id, role)
);

CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  platform    TEXT NOT NULL,
  event_id    TEXT NOT NULL,
  release_id  INTEGER,
  action      TEXT NOT NULL,
  details     TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_log_release ON audit_log(release_id);

-- The newest entry, so that deleting entries at the end of the chain is noticed too.
CREATE TABLE audit_head (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  seq   INTEGER NOT NULL,
  hash  TEXT NOT NULL
);

CREATE TABLE processed_events (
  platform      TEXT NOT NULL,
  event_id      TEXT NOT NULL,
  reply         TEXT NOT NULL,
  processed_at  TEXT NOT NULL,
  PRIMARY KEY (platform, event_id)
);

CREATE TABLE outbox (
  id            INTEGER PRIMARY KEY,
  platform      TEXT NOT NULL,
  destination   TEXT NOT NULL CHECK (destination IN ('channel','thread','direct')),
  channel       TEXT NOT NULL DEFAULT '',
  release_id    INTEGER REFERENCES releases(id),
  recipient     TEXT NOT NULL DEFAULT '',
  broadcast     INTEGER NOT NULL DEFAULT 0,
  starts_thread INTEGER NOT NULL DEFAULT 0,
  payload       TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  sent_at       TEXT,
  platform_ref  TEXT,
  updates       INTEGER REFERENCES outbox(id)  -- replaces the content of that earlier message (a decided card)
);
CREATE INDEX outbox_pending ON outbox(platform, sent_at);
)sql"},
    migration{2, "durable timers, people's time zones, sign-off nudge counts", R"sql(
CREATE TABLE timers (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  release_id  INTEGER REFERENCES releases(id),
  key         TEXT NOT NULL,
  due_at      TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','fired','skipped','cancelled')),
  created_at  TEXT NOT NULL,
  fired_at    TEXT,
  late        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX timers_due ON timers(state, due_at);
CREATE INDEX timers_release ON timers(release_id, kind, key);

CREATE TABLE people (
  user_id     TEXT PRIMARY KEY,
  time_zone   TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

ALTER TABLE signoff_requests ADD COLUMN nudges INTEGER NOT NULL DEFAULT 0;
)sql"},
    migration{3, "outbox messages a platform refused for good", R"sql(
ALTER TABLE outbox ADD COLUMN failed_reason TEXT;
)sql"},
    migration{4, "where to reach conversations and people on platforms that need an address (Teams)", R"sql(
CREATE TABLE conversation_references (
  platform         TEXT NOT NULL,
  conversation_id  TEXT NOT NULL,
  service_url      TEXT NOT NULL,
  tenant_id        TEXT NOT NULL,
  kind             TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  PRIMARY KEY (platform, conversation_id)
);
CREATE TABLE platform_users (
  platform                  TEXT NOT NULL,
  user_id                   TEXT NOT NULL,
  chat_id                   TEXT NOT NULL,
  direct_conversation_id    TEXT,
  service_url               TEXT NOT NULL,
  tenant_id                 TEXT NOT NULL,
  updated_at                TEXT NOT NULL,
  PRIMARY KEY (platform, user_id)
);
)sql"},
    migration{5, "outbox posts whose outcome is unknown (the bot stopped during the call)", R"sql(
ALTER TABLE outbox ADD COLUMN posting_since TEXT;
)sql"},
    migration{6, "the conversation of each outbox message, to find the next of each cheaply", R"sql(
ALTER TABLE outbox ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
UPDATE outbox SET conversation = CASE destination WHEN 'direct' THEN 'direct:' || recipient ELSE 'channel:' || channel END;
CREATE INDEX outbox_unsent_by_conversation ON outbox(platform, conversation, id)
  WHERE sent_at IS NULL AND failed_reason IS NULL;
)sql"},
    migration{7, "the people directory (names, e-mail, team membership), replies already posted, held messages", R"sql(
ALTER TABLE platform_users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE platform_users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE platform_users ADD COLUMN principal_name TEXT NOT NULL DEFAULT '';
ALTER TABLE platform_users ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE platform_users ADD COLUMN refreshed_at TEXT;
ALTER TABLE platform_users ADD COLUMN left_team_at TEXT;
CREATE INDEX platform_users_chat ON platform_users(platform, chat_id);
ALTER TABLE processed_events ADD COLUMN reply_posted_at TEXT;
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;  -- was held for an unreachable recipient
)sql"},
    migration{8, "builds on environments, sign-offs bound to the build they approved, deployment progress messages", R"sql(
CREATE TABLE builds (
  id          INTEGER PRIMARY KEY,
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  environment TEXT NOT NULL,
  build       TEXT NOT NULL,
  commit_sha  TEXT NOT NULL DEFAULT '',
  url         TEXT NOT NULL DEFAULT '',
  reported_by TEXT NOT NULL,
  reported_at TEXT NOT NULL
);
CREATE INDEX builds_release ON builds(release_id, environment);
ALTER TABLE signoff_decisions ADD COLUMN build TEXT NOT NULL DEFAULT '';
ALTER TABLE signoff_decisions ADD COLUMN voided_by_build TEXT;
ALTER TABLE deployments ADD COLUMN progress_message INTEGER;  -- the outbox row edited as steps arrive
ALTER TABLE deployments ADD COLUMN build TEXT NOT NULL DEFAULT '';  -- the build it deployed, when known
CREATE INDEX outbox_unsent_edits ON outbox(updates, id) WHERE updates IS NOT NULL AND sent_at IS NULL;
CREATE INDEX deployment_steps_deployment ON deployment_steps(deployment_id, id);
)sql"},
};

int current_version(database& db) {
  db.execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
      "applied_at TEXT NOT NULL)");
  auto query = db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
  query.step();
  return static_cast<int>(query.column_int(0));
}

}  // namespace

int latest_schema_version() { return migrations.back().version; }

void migrate(database& db) {
  // No sync of its own: a power cut right after loses at most the migration, applied again at the
  // next start; the first command's commit syncs it with the command.
  transaction tx{db, durability::process_crash};
  const int have = current_version(db);
  if (have > latest_schema_version()) {
    throw database_error{"the database " + db.name() + " has schema version " + std::to_string(have) +
                         " but this releasebot knows only up to " + std::to_string(latest_schema_version()) +
                         " — it was written by a newer releasebot; run that version or restore a backup"};
  }
  for (const auto& step : migrations) {
    if (step.version <= have) continue;
    db.execute_script(step.sql);
    db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, "
               "strftime('%Y-%m-%dT%H:%M:%SZ','now'))")
        .bind_all(step.version, step.description)
        .execute();
  }
  tx.commit();
}

}  // namespace releasebot::storage
