// The append-only audit trail, each entry chained to the previous by SHA-256.
#pragma once

#include "storage/database.hpp"
#include "storage/release_records.hpp"

#include <vector>

namespace releasebot::storage {

struct audit_entry {
  std::int64_t seq = 0;
  instant at{};
  std::string actor;
  std::string platform;
  std::string event_id;
  std::optional<row_id> release_id;
  std::string action;
  std::string details;  // JSON object
  std::string prev_hash;
  std::string hash;
};

struct audit_verification {
  bool intact = true;
  std::int64_t entries = 0;
  std::string problem;  // first problem found, in words
};

class audit_log {
public:
  explicit audit_log(database& db) : db_{db} {}

  // Appends inside the caller's transaction; fills seq, prev_hash and hash.
  audit_entry append(audit_entry entry);
  std::vector<audit_entry> for_release(row_id release_id);
  audit_verification verify();

  static std::string hash_of(const audit_entry& entry);

private:
  database& db_;
};

}  // namespace releasebot::storage
