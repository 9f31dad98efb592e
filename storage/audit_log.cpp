#include "storage/audit_log.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <array>

namespace releasebot::storage {

namespace {

constexpr const char* genesis_hash = "0000000000000000000000000000000000000000000000000000000000000000";

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw database_error{"SHA-256 failed while chaining the audit log"};
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string text;
  text.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0x0f];
  }
  return text;
}

audit_entry read_entry(const statement& row) {
  audit_entry entry;
  entry.seq = row.column_int(0);
  entry.at = from_iso(row.column_text(1));
  entry.actor = row.column_text(2);
  entry.platform = row.column_text(3);
  entry.event_id = row.column_text(4);
  entry.release_id = row.column_optional_int(5);
  entry.action = row.column_text(6);
  entry.details = row.column_text(7);
  entry.prev_hash = row.column_text(8);
  entry.hash = row.column_text(9);
  return entry;
}

constexpr const char* entry_columns = "seq, at, actor, platform, event_id, release_id, action, details, prev_hash, hash";

}  // namespace

std::string audit_log::hash_of(const audit_entry& entry) {
  // A JSON array is an unambiguous encoding: no field can bleed into the next.
  const nlohmann::json canonical = nlohmann::json::array(
      {entry.seq, to_iso(entry.at), entry.actor, entry.platform, entry.event_id,
       entry.release_id ? nlohmann::json(*entry.release_id) : nlohmann::json(nullptr), entry.action, entry.details,
       entry.prev_hash});
  return sha256_hex(canonical.dump());
}

audit_entry audit_log::append(audit_entry entry) {
  auto head = db_.prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (head.step()) {
    entry.seq = head.column_int(0) + 1;
    entry.prev_hash = head.column_text(1);
  } else {
    entry.seq = 1;
    entry.prev_hash = genesis_hash;
  }
  entry.hash = hash_of(entry);
  db_.prepare(std::string{"INSERT INTO audit_log ("} + entry_columns + ") VALUES (?,?,?,?,?,?,?,?,?,?)")
      .bind_all(entry.seq, to_iso(entry.at), entry.actor, entry.platform, entry.event_id, entry.release_id,
                entry.action, entry.details, entry.prev_hash, entry.hash)
      .execute();
  db_.prepare("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
              "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")
      .bind_all(entry.seq, entry.hash)
      .execute();
  return entry;
}

std::vector<audit_entry> audit_log::for_release(row_id release_id) {
  auto query = db_.prepare(std::string{"SELECT "} + entry_columns + " FROM audit_log WHERE release_id = ? ORDER BY seq");
  query.bind(1, release_id);
  std::vector<audit_entry> entries;
  while (query.step()) entries.push_back(read_entry(query));
  return entries;
}

audit_verification audit_log::verify() {
  audit_verification result;
  auto query = db_.prepare(std::string{"SELECT "} + entry_columns + " FROM audit_log ORDER BY seq");
  std::string expected_prev = genesis_hash;
  std::int64_t expected_seq = 1;
  const auto fail = [&](std::string problem) {
    result.intact = false;
    result.problem = std::move(problem);
    return result;
  };
  while (query.step()) {
    audit_entry entry;
    try {
      entry = read_entry(query);
    } catch (const database_error& error) {
      return fail("entry after #" + std::to_string(expected_seq - 1) + " is unreadable: " + error.what());
    }
    if (entry.seq != expected_seq) {
      return fail("entry #" + std::to_string(expected_seq) + " is missing (next is #" + std::to_string(entry.seq) + ")");
    }
    if (entry.prev_hash != expected_prev) {
      return fail("entry #" + std::to_string(entry.seq) + " does not follow the entry before it (inserted or removed)");
    }
    if (hash_of(entry) != entry.hash) return fail("entry #" + std::to_string(entry.seq) + " was altered");
    expected_prev = entry.hash;
    ++expected_seq;
    ++result.entries;
  }
  auto head = db_.prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (head.step()) {
    const auto head_seq = head.column_int(0);
    if (head_seq < result.entries) {
      return fail("the trail goes on to #" + std::to_string(result.entries) + " but the newest entry written was #" +
                  std::to_string(head_seq) + ": entries were added after it");
    }
    if (head_seq != result.entries || head.column_text(1) != expected_prev) {
      return fail("the trail ends at #" + std::to_string(result.entries) + " but entry #" + std::to_string(head_seq) +
                  " was written: entries at the end were removed or replaced");
    }
  } else if (result.entries > 0) {
    return fail("the record of the newest entry is missing");
  }
  return result;
}

}  // namespace releasebot::storage
