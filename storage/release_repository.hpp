// Reads and writes releases and everything recorded about them; callers own the transaction.
#pragma once

#include <array>

#include "storage/database.hpp"
#include "storage/release_records.hpp"

#include <vector>

namespace releasebot::storage {

class release_repository {
public:
  explicit release_repository(database& db) : db_{db} {}

  row_id insert(const release_record& release);
  std::optional<release_record> find_by_version(std::string_view version);
  std::optional<release_record> find(row_id id);
  std::vector<release_record> all();  // newest first
  std::vector<release_record> opened_between(instant from, instant to);
  void set_stage(row_id id, std::string_view stage);
  void set_thread_ref(row_id id, std::string_view thread_ref);
  void end(row_id id, std::string_view state, instant at, const std::optional<std::string>& cancel_reason);
  void set_unit_tests(row_id id, std::int64_t count);

  void set_milestone(row_id id, std::string_view name, instant planned_at);
  std::vector<milestone_record> milestones(row_id id);

  void mark_item(row_id id, const checklist_mark& mark);
  std::vector<checklist_mark> checklist_marks(row_id id, std::string_view stage);

  void confirm_team(row_id id, const readiness_record& record);
  std::vector<readiness_record> readiness(row_id id);

  // Returns false when the ticket was already in that state (or absent, for remove).
  bool add_ticket(row_id id, std::string_view ticket);
  bool remove_ticket(row_id id, std::string_view ticket);
  bool set_ticket_resolved(row_id id, std::string_view ticket, bool resolved);
  std::vector<ticket_record> tickets(row_id id);

  row_id add_signoff_request(row_id id, const signoff_request_record& request);
  std::vector<signoff_request_record> signoff_requests(row_id id);
  // The request and the release it belongs to.
  std::optional<std::pair<row_id, signoff_request_record>> find_signoff_request(row_id request_id);
  // Counts one more nudge and returns the new count.
  int count_nudge(row_id request_id);
  void set_request_card(row_id request_id, row_id outbox_id);
  std::optional<row_id> request_card(row_id request_id);
  void answer_signoff_requests(row_id id, std::string_view role, instant at);
  void add_signoff_decision(row_id id, const signoff_decision_record& decision);
  std::vector<signoff_decision_record> signoff_decisions(row_id id);  // oldest first
  void void_signoff_decision(row_id decision_id, std::string_view by_build);
  void add_build(row_id id, const build_record& build);
  std::vector<build_record> builds(row_id id);  // oldest first

  void enter_stage(row_id id, std::string_view stage, instant at);
  void leave_stage(row_id id, std::string_view stage, instant at, const std::optional<std::string>& override_by,
                   const std::optional<std::string>& override_reason);
  std::vector<stage_passage_record> stage_passages(row_id id);

  row_id start_deployment(row_id id, const deployment_record& deployment);
  void finish_deployment(row_id deployment_id, std::string_view outcome, instant at,
                         std::optional<std::int64_t> actual_downtime, std::string_view reason);
  std::vector<deployment_record> deployments(row_id id);  // oldest first
  // The highest version with a successful deployment to `environment`, as {major, minor, patch}.
  std::optional<std::array<std::int64_t, 3>> newest_version_deployed_to(std::string_view environment);
  void add_deployment_step(row_id deployment_id, const deployment_step_record& step);
  std::vector<deployment_step_record> deployment_steps(row_id deployment_id);
  // How many steps a deployment has, and the newest `limit` of them, oldest first.
  std::pair<std::int64_t, std::vector<deployment_step_record>> latest_deployment_steps(row_id deployment_id, int limit);
  // The build a deployment deployed (empty: not known).
  void set_deployment_build(row_id deployment_id, std::string_view build);
  std::string deployment_build(row_id deployment_id);
  // The thread message that shows a deployment's steps, edited in place as more arrive.
  void set_progress_message(row_id deployment_id, row_id outbox_id);
  std::optional<row_id> progress_message(row_id deployment_id);

  void add_incident(row_id id, const incident_record& incident);
  std::vector<incident_record> incidents(row_id id);

  void start_review(row_id id, std::string_view by, instant at);
  void close_review(row_id id, instant at);
  std::optional<review_record> review(row_id id);
  void add_review_item(row_id id, const review_item_record& item);
  std::vector<review_item_record> review_items(row_id id);

private:
  database& db_;
};

}  // namespace releasebot::storage
