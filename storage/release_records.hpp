// Plain records of what a release holds, as read from and written to the database.
#pragma once

#include "storage/timestamps.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace releasebot::storage {

using row_id = std::int64_t;

struct release_record {
  row_id id = 0;
  std::string version;  // "4.2.0"
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string type;
  std::string title;
  std::string stage;
  std::string state = "active";  // active | closed | cancelled
  std::string coordinator;
  std::string platform;
  std::string channel;
  std::optional<std::string> thread_ref;
  std::optional<std::string> forced_reason;
  std::optional<std::string> cancel_reason;
  std::optional<std::int64_t> unit_tests;
  instant created_at{};
  std::optional<instant> ended_at;
};

struct milestone_record {
  std::string name;  // "cutoff", or an environment id
  instant planned_at{};
};

struct checklist_mark {
  std::string stage;
  std::string item;
  std::string state;  // open | done | na
  std::string note;
  std::string marked_by;
  instant marked_at{};
};

struct readiness_record {
  std::string team;
  std::string confirmed_by;
  std::string note;
  instant confirmed_at{};
};

struct ticket_record {
  std::string ticket;
  bool resolved = false;
};

struct signoff_request_record {
  row_id id = 0;
  std::string role;
  std::string assignee;
  std::string requested_by;
  instant requested_at{};
  std::optional<instant> answered_at;
};

struct signoff_decision_record {
  row_id id = 0;
  std::string role;
  std::string decided_by;
  std::string decision;  // approved | rejected
  std::string note;
  bool retroactive = false;
  instant decided_at{};
  std::string build;  // the build it approved, when the role is bound to builds
  std::optional<std::string> voided_by_build;  // a newer build reached the role's environment
};

// A release candidate reported on an environment; the latest one is what runs there.
struct build_record {
  std::string environment;
  std::string build;
  std::string commit;
  std::string url;
  std::string reported_by;
  instant reported_at{};
};

struct stage_passage_record {
  std::string stage;
  instant entered_at{};
  std::optional<instant> left_at;
  std::optional<std::string> override_by;
  std::optional<std::string> override_reason;
};

struct deployment_record {
  row_id id = 0;
  std::string environment;
  std::string outcome;  // running | succeeded | failed | rolled_back
  std::string started_by;
  instant started_at{};
  std::optional<instant> finished_at;
  std::optional<std::int64_t> estimated_downtime;  // minutes
  std::optional<std::int64_t> actual_downtime;     // minutes
  std::string reason;
};

struct deployment_step_record {
  std::string text;
  std::string reported_by;
  instant reported_at{};
};

struct incident_record {
  std::string severity;
  std::string description;
  std::string reported_by;
  instant reported_at{};
};

struct review_record {
  std::string started_by;
  instant started_at{};
  std::optional<instant> closed_at;
};

struct review_item_record {
  std::string kind;  // good | improve | action
  std::string text;
  std::optional<std::string> owner;
  std::string added_by;
  instant added_at{};
};

}  // namespace releasebot::storage
