#include "storage/release_repository.hpp"

namespace releasebot::storage {

namespace {

constexpr const char* release_columns =
    "id, version, major, minor, patch, type, title, stage, state, coordinator, platform, channel, thread_ref, "
    "forced_reason, cancel_reason, unit_tests, created_at, ended_at";

release_record read_release(const statement& row) {
  release_record release;
  release.id = row.column_int(0);
  release.version = row.column_text(1);
  release.major = static_cast<int>(row.column_int(2));
  release.minor = static_cast<int>(row.column_int(3));
  release.patch = static_cast<int>(row.column_int(4));
  release.type = row.column_text(5);
  release.title = row.column_text(6);
  release.stage = row.column_text(7);
  release.state = row.column_text(8);
  release.coordinator = row.column_text(9);
  release.platform = row.column_text(10);
  release.channel = row.column_text(11);
  release.thread_ref = row.column_optional_text(12);
  release.forced_reason = row.column_optional_text(13);
  release.cancel_reason = row.column_optional_text(14);
  release.unit_tests = row.column_optional_int(15);
  release.created_at = from_iso(row.column_text(16));
  release.ended_at = from_optional_iso(row.column_optional_text(17));
  return release;
}

std::optional<std::string> optional_iso(const std::optional<instant>& at) {
  if (!at) return std::nullopt;
  return to_iso(*at);
}

template <typename Record, typename Reader>
std::vector<Record> read_all(statement& query, Reader read) {
  std::vector<Record> records;
  while (query.step()) records.push_back(read(query));
  return records;
}

}  // namespace

row_id release_repository::insert(const release_record& release) {
  db_.prepare("INSERT INTO releases (version, major, minor, patch, type, title, stage, state, coordinator, platform, "
              "channel, thread_ref, forced_reason, cancel_reason, unit_tests, created_at, ended_at) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind_all(release.version, release.major, release.minor, release.patch, release.type, release.title,
                release.stage, release.state, release.coordinator, release.platform, release.channel,
                release.thread_ref, release.forced_reason, release.cancel_reason, release.unit_tests,
                to_iso(release.created_at), optional_iso(release.ended_at))
      .execute();
  return db_.last_insert_id();
}

std::optional<release_record> release_repository::find_by_version(std::string_view version) {
  auto query = db_.prepare(std::string{"SELECT "} + release_columns + " FROM releases WHERE version = ?");
  query.bind(1, version);
  if (!query.step()) return std::nullopt;
  return read_release(query);
}

std::optional<release_record> release_repository::find(row_id id) {
  auto query = db_.prepare(std::string{"SELECT "} + release_columns + " FROM releases WHERE id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_release(query);
}

std::vector<release_record> release_repository::all() {
  auto query = db_.prepare(std::string{"SELECT "} + release_columns +
                           " FROM releases ORDER BY major DESC, minor DESC, patch DESC");
  return read_all<release_record>(query, read_release);
}

std::vector<release_record> release_repository::opened_between(instant from, instant to) {
  auto query = db_.prepare(std::string{"SELECT "} + release_columns +
                           " FROM releases WHERE created_at >= ? AND created_at < ? ORDER BY major, minor, patch");
  query.bind_all(to_iso(from), to_iso(to));
  return read_all<release_record>(query, read_release);
}

void release_repository::set_stage(row_id id, std::string_view stage) {
  db_.prepare("UPDATE releases SET stage = ? WHERE id = ?").bind_all(stage, id).execute();
}

void release_repository::set_thread_ref(row_id id, std::string_view thread_ref) {
  db_.prepare("UPDATE releases SET thread_ref = ? WHERE id = ?").bind_all(thread_ref, id).execute();
}

void release_repository::end(row_id id, std::string_view state, instant at,
                             const std::optional<std::string>& cancel_reason) {
  db_.prepare("UPDATE releases SET state = ?, ended_at = ?, cancel_reason = ? WHERE id = ?")
      .bind_all(state, to_iso(at), cancel_reason, id)
      .execute();
}

void release_repository::set_unit_tests(row_id id, std::int64_t count) {
  db_.prepare("UPDATE releases SET unit_tests = ? WHERE id = ?").bind_all(count, id).execute();
}

void release_repository::set_milestone(row_id id, std::string_view name, instant planned_at) {
  db_.prepare("INSERT INTO milestones (release_id, name, planned_at) VALUES (?,?,?) "
              "ON CONFLICT (release_id, name) DO UPDATE SET planned_at = excluded.planned_at")
      .bind_all(id, name, to_iso(planned_at))
      .execute();
}

std::vector<milestone_record> release_repository::milestones(row_id id) {
  auto query = db_.prepare("SELECT name, planned_at FROM milestones WHERE release_id = ? ORDER BY planned_at");
  query.bind(1, id);
  return read_all<milestone_record>(query, [](const statement& row) {
    return milestone_record{row.column_text(0), from_iso(row.column_text(1))};
  });
}

void release_repository::mark_item(row_id id, const checklist_mark& mark) {
  db_.prepare("INSERT INTO checklist_marks (release_id, stage, item, state, note, marked_by, marked_at) "
              "VALUES (?,?,?,?,?,?,?) ON CONFLICT (release_id, stage, item) DO UPDATE SET state = excluded.state, "
              "note = excluded.note, marked_by = excluded.marked_by, marked_at = excluded.marked_at")
      .bind_all(id, mark.stage, mark.item, mark.state, mark.note, mark.marked_by, to_iso(mark.marked_at))
      .execute();
}

std::vector<checklist_mark> release_repository::checklist_marks(row_id id, std::string_view stage) {
  auto query = db_.prepare(
      "SELECT stage, item, state, note, marked_by, marked_at FROM checklist_marks WHERE release_id = ? AND stage = ?");
  query.bind_all(id, stage);
  return read_all<checklist_mark>(query, [](const statement& row) {
    return checklist_mark{row.column_text(0), row.column_text(1), row.column_text(2),
                          row.column_text(3), row.column_text(4), from_iso(row.column_text(5))};
  });
}

void release_repository::confirm_team(row_id id, const readiness_record& record) {
  db_.prepare("INSERT INTO readiness (release_id, team, confirmed_by, note, confirmed_at) VALUES (?,?,?,?,?) "
              "ON CONFLICT (release_id, team) DO UPDATE SET confirmed_by = excluded.confirmed_by, "
              "note = excluded.note, confirmed_at = excluded.confirmed_at")
      .bind_all(id, record.team, record.confirmed_by, record.note, to_iso(record.confirmed_at))
      .execute();
}

std::vector<readiness_record> release_repository::readiness(row_id id) {
  auto query = db_.prepare(
      "SELECT team, confirmed_by, note, confirmed_at FROM readiness WHERE release_id = ? ORDER BY confirmed_at");
  query.bind(1, id);
  return read_all<readiness_record>(query, [](const statement& row) {
    return readiness_record{row.column_text(0), row.column_text(1), row.column_text(2), from_iso(row.column_text(3))};
  });
}

bool release_repository::add_ticket(row_id id, std::string_view ticket) {
  return db_.prepare("INSERT INTO tickets (release_id, ticket) VALUES (?,?) ON CONFLICT DO NOTHING")
             .bind_all(id, ticket)
             .execute() > 0;
}

bool release_repository::remove_ticket(row_id id, std::string_view ticket) {
  return db_.prepare("DELETE FROM tickets WHERE release_id = ? AND ticket = ?").bind_all(id, ticket).execute() > 0;
}

bool release_repository::set_ticket_resolved(row_id id, std::string_view ticket, bool resolved) {
  return db_.prepare("UPDATE tickets SET resolved = ? WHERE release_id = ? AND ticket = ? AND resolved <> ?")
             .bind_all(resolved ? 1 : 0, id, ticket, resolved ? 1 : 0)
             .execute() > 0;
}

std::vector<ticket_record> release_repository::tickets(row_id id) {
  auto query = db_.prepare("SELECT ticket, resolved FROM tickets WHERE release_id = ? ORDER BY ticket");
  query.bind(1, id);
  return read_all<ticket_record>(
      query, [](const statement& row) { return ticket_record{row.column_text(0), row.column_int(1) != 0}; });
}

row_id release_repository::add_signoff_request(row_id id, const signoff_request_record& request) {
  db_.prepare("INSERT INTO signoff_requests (release_id, role, assignee, requested_by, requested_at) "
              "VALUES (?,?,?,?,?)")
      .bind_all(id, request.role, request.assignee, request.requested_by, to_iso(request.requested_at))
      .execute();
  return db_.last_insert_id();
}

std::vector<signoff_request_record> release_repository::signoff_requests(row_id id) {
  auto query = db_.prepare(
      "SELECT id, role, assignee, requested_by, requested_at, answered_at FROM signoff_requests "
      "WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<signoff_request_record>(query, [](const statement& row) {
    return signoff_request_record{row.column_int(0),  row.column_text(1),
                                  row.column_text(2), row.column_text(3),
                                  from_iso(row.column_text(4)), from_optional_iso(row.column_optional_text(5))};
  });
}

std::optional<std::pair<row_id, signoff_request_record>> release_repository::find_signoff_request(row_id request_id) {
  auto query = db_.prepare(
      "SELECT release_id, id, role, assignee, requested_by, requested_at, answered_at FROM signoff_requests "
      "WHERE id = ?");
  query.bind(1, request_id);
  if (!query.step()) return std::nullopt;
  return std::pair{query.column_int(0),
                   signoff_request_record{query.column_int(1), query.column_text(2), query.column_text(3),
                                          query.column_text(4), from_iso(query.column_text(5)),
                                          from_optional_iso(query.column_optional_text(6))}};
}

int release_repository::count_nudge(row_id request_id) {
  db_.prepare("UPDATE signoff_requests SET nudges = nudges + 1 WHERE id = ?").bind(1, request_id).execute();
  auto query = db_.prepare("SELECT nudges FROM signoff_requests WHERE id = ?");
  query.bind(1, request_id);
  return query.step() ? static_cast<int>(query.column_int(0)) : 0;
}

void release_repository::set_request_card(row_id request_id, row_id outbox_id) {
  db_.prepare("UPDATE signoff_requests SET card_outbox_id = ? WHERE id = ?").bind_all(outbox_id, request_id).execute();
}

std::optional<row_id> release_repository::request_card(row_id request_id) {
  auto query = db_.prepare("SELECT card_outbox_id FROM signoff_requests WHERE id = ?");
  query.bind(1, request_id);
  if (!query.step()) return std::nullopt;
  return query.column_optional_int(0);
}

void release_repository::answer_signoff_requests(row_id id, std::string_view role, instant at) {
  db_.prepare("UPDATE signoff_requests SET answered_at = ? WHERE release_id = ? AND role = ? AND answered_at IS NULL")
      .bind_all(to_iso(at), id, role)
      .execute();
}

void release_repository::add_signoff_decision(row_id id, const signoff_decision_record& decision) {
  db_.prepare("INSERT INTO signoff_decisions (release_id, role, decided_by, decision, note, retroactive, decided_at, "
              "build) VALUES (?,?,?,?,?,?,?,?)")
      .bind_all(id, decision.role, decision.decided_by, decision.decision, decision.note,
                decision.retroactive ? 1 : 0, to_iso(decision.decided_at), decision.build)
      .execute();
}

std::vector<signoff_decision_record> release_repository::signoff_decisions(row_id id) {
  auto query = db_.prepare(
      "SELECT id, role, decided_by, decision, note, retroactive, decided_at, build, voided_by_build "
      "FROM signoff_decisions WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<signoff_decision_record>(query, [](const statement& row) {
    return signoff_decision_record{row.column_int(0),  row.column_text(1), row.column_text(2),
                                   row.column_text(3), row.column_text(4), row.column_int(5) != 0,
                                   from_iso(row.column_text(6)), row.column_text(7), row.column_optional_text(8)};
  });
}

void release_repository::void_signoff_decision(row_id decision_id, std::string_view by_build) {
  db_.prepare("UPDATE signoff_decisions SET voided_by_build = ? WHERE id = ?").bind_all(by_build, decision_id).execute();
}

void release_repository::add_build(row_id id, const build_record& build) {
  db_.prepare("INSERT INTO builds (release_id, environment, build, commit_sha, url, reported_by, reported_at) "
              "VALUES (?,?,?,?,?,?,?)")
      .bind_all(id, build.environment, build.build, build.commit, build.url, build.reported_by, to_iso(build.reported_at))
      .execute();
}

std::vector<build_record> release_repository::builds(row_id id) {
  auto query = db_.prepare(
      "SELECT environment, build, commit_sha, url, reported_by, reported_at FROM builds WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<build_record>(query, [](const statement& row) {
    return build_record{row.column_text(0), row.column_text(1), row.column_text(2),
                        row.column_text(3), row.column_text(4), from_iso(row.column_text(5))};
  });
}

void release_repository::enter_stage(row_id id, std::string_view stage, instant at) {
  db_.prepare("INSERT INTO stage_passages (release_id, stage, entered_at) VALUES (?,?,?) "
              "ON CONFLICT (release_id, stage) DO UPDATE SET entered_at = excluded.entered_at, left_at = NULL")
      .bind_all(id, stage, to_iso(at))
      .execute();
}

void release_repository::leave_stage(row_id id, std::string_view stage, instant at,
                                     const std::optional<std::string>& override_by,
                                     const std::optional<std::string>& override_reason) {
  db_.prepare("UPDATE stage_passages SET left_at = ?, override_by = ?, override_reason = ? "
              "WHERE release_id = ? AND stage = ?")
      .bind_all(to_iso(at), override_by, override_reason, id, stage)
      .execute();
}

std::vector<stage_passage_record> release_repository::stage_passages(row_id id) {
  auto query = db_.prepare(
      "SELECT stage, entered_at, left_at, override_by, override_reason FROM stage_passages WHERE release_id = ? "
      "ORDER BY entered_at, rowid");
  query.bind(1, id);
  return read_all<stage_passage_record>(query, [](const statement& row) {
    return stage_passage_record{row.column_text(0), from_iso(row.column_text(1)),
                                from_optional_iso(row.column_optional_text(2)), row.column_optional_text(3),
                                row.column_optional_text(4)};
  });
}

row_id release_repository::start_deployment(row_id id, const deployment_record& deployment) {
  db_.prepare("INSERT INTO deployments (release_id, environment, outcome, started_by, started_at, "
              "estimated_downtime) VALUES (?,?,'running',?,?,?)")
      .bind_all(id, deployment.environment, deployment.started_by, to_iso(deployment.started_at),
                deployment.estimated_downtime)
      .execute();
  return db_.last_insert_id();
}

void release_repository::finish_deployment(row_id deployment_id, std::string_view outcome, instant at,
                                           std::optional<std::int64_t> actual_downtime, std::string_view reason) {
  db_.prepare("UPDATE deployments SET outcome = ?, finished_at = ?, actual_downtime = ?, reason = ? WHERE id = ?")
      .bind_all(outcome, to_iso(at), actual_downtime, reason, deployment_id)
      .execute();
}

std::optional<std::array<std::int64_t, 3>> release_repository::newest_version_deployed_to(std::string_view environment) {
  auto query = db_.prepare(
      "SELECT r.major, r.minor, r.patch FROM deployments d JOIN releases r ON r.id = d.release_id "
      "WHERE d.environment = ? AND d.outcome = 'succeeded' ORDER BY r.major DESC, r.minor DESC, r.patch DESC LIMIT 1");
  query.bind(1, environment);
  if (!query.step()) return std::nullopt;
  return std::array<std::int64_t, 3>{query.column_int(0), query.column_int(1), query.column_int(2)};
}

std::vector<deployment_record> release_repository::deployments(row_id id) {
  auto query = db_.prepare(
      "SELECT id, environment, outcome, started_by, started_at, finished_at, estimated_downtime, actual_downtime, "
      "reason FROM deployments WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<deployment_record>(query, [](const statement& row) {
    return deployment_record{row.column_int(0),
                             row.column_text(1),
                             row.column_text(2),
                             row.column_text(3),
                             from_iso(row.column_text(4)),
                             from_optional_iso(row.column_optional_text(5)),
                             row.column_optional_int(6),
                             row.column_optional_int(7),
                             row.column_text(8)};
  });
}

void release_repository::add_deployment_step(row_id deployment_id, const deployment_step_record& step) {
  db_.prepare("INSERT INTO deployment_steps (deployment_id, text, reported_by, reported_at) VALUES (?,?,?,?)")
      .bind_all(deployment_id, step.text, step.reported_by, to_iso(step.reported_at))
      .execute();
}

namespace {

// A row of SELECT text, reported_by, reported_at FROM deployment_steps.
deployment_step_record step_of_row(const statement& row) {
  return deployment_step_record{row.column_text(0), row.column_text(1), from_iso(row.column_text(2))};
}

}  // namespace

std::pair<std::int64_t, std::vector<deployment_step_record>> release_repository::latest_deployment_steps(
    row_id deployment_id, int limit) {
  auto total = db_.prepare("SELECT count(*) FROM deployment_steps WHERE deployment_id = ?");
  total.bind(1, deployment_id);
  total.step();
  const auto count = total.column_int(0);
  auto query = db_.prepare(
      "SELECT text, reported_by, reported_at FROM (SELECT id, text, reported_by, reported_at FROM deployment_steps "
      "WHERE deployment_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id");
  query.bind(1, deployment_id);
  query.bind(2, static_cast<std::int64_t>(limit));
  return {count, read_all<deployment_step_record>(query, step_of_row)};
}

void release_repository::set_deployment_build(row_id deployment_id, std::string_view build) {
  db_.prepare("UPDATE deployments SET build = ? WHERE id = ?").bind_all(build, deployment_id).execute();
}

std::string release_repository::deployment_build(row_id deployment_id) {
  auto query = db_.prepare("SELECT build FROM deployments WHERE id = ?");
  query.bind(1, deployment_id);
  return query.step() ? query.column_text(0) : std::string{};
}

void release_repository::set_progress_message(row_id deployment_id, row_id outbox_id) {
  db_.prepare("UPDATE deployments SET progress_message = ? WHERE id = ?").bind_all(outbox_id, deployment_id).execute();
}

std::optional<row_id> release_repository::progress_message(row_id deployment_id) {
  auto query = db_.prepare("SELECT progress_message FROM deployments WHERE id = ?");
  query.bind(1, deployment_id);
  if (!query.step()) return std::nullopt;
  return query.column_optional_int(0);
}

std::vector<deployment_step_record> release_repository::deployment_steps(row_id deployment_id) {
  auto query = db_.prepare(
      "SELECT text, reported_by, reported_at FROM deployment_steps WHERE deployment_id = ? ORDER BY id");
  query.bind(1, deployment_id);
  return read_all<deployment_step_record>(query, step_of_row);
}

void release_repository::add_incident(row_id id, const incident_record& incident) {
  db_.prepare("INSERT INTO incidents (release_id, severity, description, reported_by, reported_at) VALUES (?,?,?,?,?)")
      .bind_all(id, incident.severity, incident.description, incident.reported_by, to_iso(incident.reported_at))
      .execute();
}

std::vector<incident_record> release_repository::incidents(row_id id) {
  auto query = db_.prepare(
      "SELECT severity, description, reported_by, reported_at FROM incidents WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<incident_record>(query, [](const statement& row) {
    return incident_record{row.column_text(0), row.column_text(1), row.column_text(2), from_iso(row.column_text(3))};
  });
}

void release_repository::start_review(row_id id, std::string_view by, instant at) {
  db_.prepare("INSERT INTO reviews (release_id, started_by, started_at) VALUES (?,?,?)")
      .bind_all(id, by, to_iso(at))
      .execute();
}

void release_repository::close_review(row_id id, instant at) {
  db_.prepare("UPDATE reviews SET closed_at = ? WHERE release_id = ?").bind_all(to_iso(at), id).execute();
}

std::optional<review_record> release_repository::review(row_id id) {
  auto query = db_.prepare("SELECT started_by, started_at, closed_at FROM reviews WHERE release_id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return review_record{query.column_text(0), from_iso(query.column_text(1)),
                       from_optional_iso(query.column_optional_text(2))};
}

void release_repository::add_review_item(row_id id, const review_item_record& item) {
  db_.prepare("INSERT INTO review_items (release_id, kind, text, owner, added_by, added_at) VALUES (?,?,?,?,?,?)")
      .bind_all(id, item.kind, item.text, item.owner, item.added_by, to_iso(item.added_at))
      .execute();
}

std::vector<review_item_record> release_repository::review_items(row_id id) {
  auto query = db_.prepare(
      "SELECT kind, text, owner, added_by, added_at FROM review_items WHERE release_id = ? ORDER BY id");
  query.bind(1, id);
  return read_all<review_item_record>(query, [](const statement& row) {
    return review_item_record{row.column_text(0), row.column_text(1), row.column_optional_text(2), row.column_text(3),
                              from_iso(row.column_text(4))};
  });
}

}  // namespace releasebot::storage
