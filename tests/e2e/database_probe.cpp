#include "database_probe.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace releasebot::testing {

std::string text_of(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    throw std::runtime_error{"cannot open " + db};
  }
  std::string value;
  bool found = false;
  struct target {
    std::string* value;
    bool* found;
  } into{&value, &found};
  sqlite3_exec(
      handle, sql.c_str(),
      [](void* raw, int, char** values, char**) {
        auto* out = static_cast<target*>(raw);
        if (!*out->found) *out->value = values[0] != nullptr ? values[0] : "";
        *out->found = true;
        return 0;
      },
      &into, nullptr);
  sqlite3_close(handle);
  return found ? value : std::string{};
}

std::vector<std::string> column_of(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    throw std::runtime_error{"cannot open " + db};
  }
  std::vector<std::string> values;
  const int rc = sqlite3_exec(
      handle, sql.c_str(),
      [](void* raw, int, char** row, char**) {
        static_cast<std::vector<std::string>*>(raw)->emplace_back(row[0] != nullptr ? row[0] : "");
        return 0;
      },
      &values, nullptr);
  sqlite3_close(handle);
  if (rc != SQLITE_OK) throw std::runtime_error{"cannot read '" + sql + "' from " + db};
  return values;
}

long count(const std::string& db, const std::string& sql) {
  const auto text = text_of(db, sql);
  return text.empty() ? -1 : std::stol(text);
}

}  // namespace releasebot::testing
