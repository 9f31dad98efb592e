#include "storage/database.hpp"

#include <sqlite3.h>

#include <utility>

namespace releasebot::storage {

namespace {

std::string describe(sqlite3* handle, std::string_view what) {
  std::string message{what};
  message += ": ";
  message += handle != nullptr ? sqlite3_errmsg(handle) : "out of memory";
  return message;
}

}  // namespace

void database::raise(std::string_view what) const { throw database_error{describe(handle_, what)}; }

database database::open(const std::filesystem::path& file) {
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &handle,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  database db{handle, file.string()};
  if (rc != SQLITE_OK) {
    throw database_error{"cannot open database " + file.string() + ": " +
                         (handle != nullptr ? sqlite3_errmsg(handle) : "out of memory") +
                         " — check the path and its permissions, or pass another with --db"};
  }
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, 5000);
  try {
    // Reading the schema is the first access that notices a file that is not a database.
    db.execute_script("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    auto check = db.prepare("SELECT count(*) FROM sqlite_schema");
    check.step();
  } catch (const database_error& error) {
    throw database_error{"cannot use " + file.string() + " as the releasebot database (" + error.what() +
                         ") — it is not a SQLite database or it is damaged; restore a backup or pass another file with --db"};
  }
  return db;
}

database database::open_in_memory() {
  sqlite3* handle = nullptr;
  if (sqlite3_open(":memory:", &handle) != SQLITE_OK) {
    database db{handle, ":memory:"};
    db.raise("cannot open in-memory database");
  }
  database db{handle, ":memory:"};
  db.execute_script("PRAGMA foreign_keys = ON;");
  return db;
}

database::database(database&& other) noexcept
    : handle_{std::exchange(other.handle_, nullptr)}, name_{std::move(other.name_)}, prepared_{std::move(other.prepared_)},
      commit_observer_{std::move(other.commit_observer_)} {
  other.prepared_.clear();
}

database& database::operator=(database&& other) noexcept {
  if (this != &other) {
    finalize_cached();
    if (handle_ != nullptr) sqlite3_close_v2(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    name_ = std::move(other.name_);
    prepared_ = std::move(other.prepared_);
    other.prepared_.clear();
    commit_observer_ = std::move(other.commit_observer_);
  }
  return *this;
}

database::~database() {
  finalize_cached();
  if (handle_ != nullptr) sqlite3_close_v2(handle_);
}

void database::finalize_cached() {
  for (auto& [sql, handles] : prepared_) {
    for (auto* handle : handles) sqlite3_finalize(handle);
  }
  prepared_.clear();
}

sqlite3_stmt* database::take_prepared(std::string_view sql) {
  if (const auto cached = prepared_.find(sql); cached != prepared_.end() && !cached->second.empty()) {
    auto* handle = cached->second.back();
    cached->second.pop_back();
    return handle;
  }
  sqlite3_stmt* handle = nullptr;
  if (sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &handle,
                         nullptr) != SQLITE_OK) {
    raise("cannot prepare '" + std::string{sql.substr(0, 60)} + "'");
  }
  return handle;
}

void database::give_back(sqlite3_stmt* handle) {
  sqlite3_reset(handle);
  sqlite3_clear_bindings(handle);
  const char* sql = sqlite3_sql(handle);
  if (sql == nullptr) {
    sqlite3_finalize(handle);
    return;
  }
  const std::string_view text{sql};
  if (auto cached = prepared_.find(text); cached != prepared_.end()) {
    cached->second.push_back(handle);
  } else {
    prepared_.emplace(std::string{text}, std::vector<sqlite3_stmt*>{handle});
  }
}

void database::execute_script(std::string_view sql) {
  const std::string text{sql};
  char* error = nullptr;
  if (sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errmsg(handle_);
    sqlite3_free(error);
    throw database_error{"SQL failed on " + name_ + ": " + message};
  }
}

std::int64_t database::last_insert_id() const { return sqlite3_last_insert_rowid(handle_); }
int database::changes() const { return sqlite3_changes(handle_); }
bool database::reachable() {
  try {
    auto probe = prepare("SELECT 1");
    return probe.step() && probe.column_int(0) == 1;
  } catch (const database_error&) {
    return false;
  }
}

bool database::in_transaction() const { return sqlite3_get_autocommit(handle_) == 0; }

statement::statement(database& db, std::string_view sql) : db_{&db}, handle_{db.take_prepared(sql)} {}

statement::statement(statement&& other) noexcept
    : db_{other.db_}, handle_{std::exchange(other.handle_, nullptr)} {}

statement::~statement() {
  if (handle_ != nullptr) db_->give_back(handle_);
}

statement& statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(handle_, index, value) != SQLITE_OK) db_->raise("bind failed");
  return *this;
}

statement& statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(handle_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    db_->raise("bind failed");
  }
  return *this;
}

statement& statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view{*value}) : bind_null(index);
}

statement& statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

statement& statement::bind_null(int index) {
  if (sqlite3_bind_null(handle_, index) != SQLITE_OK) db_->raise("bind failed");
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(handle_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(handle_) != nullptr ? sqlite3_sql(handle_) : "";
  sqlite3_reset(handle_);
  db_->raise("statement failed (" + sql.substr(0, 60) + ")");
}

int statement::execute() {
  while (step()) {
  }
  return db_->changes();
}

void statement::reset() {
  sqlite3_reset(handle_);
  sqlite3_clear_bindings(handle_);
}

std::int64_t statement::column_int(int index) const { return sqlite3_column_int64(handle_, index); }

std::string statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(handle_, index));
  return text != nullptr ? std::string{text, static_cast<std::size_t>(sqlite3_column_bytes(handle_, index))}
                         : std::string{};
}

std::optional<std::string> statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

std::optional<std::int64_t> statement::column_optional_int(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_int(index);
}

bool statement::column_is_null(int index) const { return sqlite3_column_type(handle_, index) == SQLITE_NULL; }

transaction::transaction(database& db, durability level) : db_{db}, level_{level} {
  if (level_ == durability::process_crash) db_.prepare("PRAGMA synchronous = NORMAL").execute();
  try {
    db_.prepare("BEGIN IMMEDIATE").execute();
  } catch (...) {
    restore_durability();
    throw;
  }
}

transaction::~transaction() {
  if (!done_) {
    try {
      db_.prepare("ROLLBACK").execute();
    } catch (...) {
      // A failed rollback leaves SQLite itself rolling back on close; nothing more to do here.
    }
    restore_durability();
  }
}

void transaction::commit() {
  const auto started = std::chrono::steady_clock::now();
  db_.prepare("COMMIT").execute();
  done_ = true;
  if (db_.commit_observer_) db_.commit_observer_(std::chrono::steady_clock::now() - started);
  restore_durability();
}

void transaction::restore_durability() {
  if (level_ != durability::process_crash) return;
  try {
    db_.prepare("PRAGMA synchronous = FULL").execute();
  } catch (...) {
    // Cannot fail outside a transaction; if it ever did, the next open sets FULL again.
  }
}

savepoint::savepoint(database& db) : db_{db} { db_.prepare("SAVEPOINT command").execute(); }

savepoint::~savepoint() {
  if (!done_) {
    try {
      db_.prepare("ROLLBACK TO command").execute();
      db_.prepare("RELEASE command").execute();
    } catch (...) {
      // Leaves the enclosing transaction to roll back; nothing more to do here.
    }
  }
}

void savepoint::commit() {
  db_.prepare("RELEASE command").execute();
  done_ = true;
}

}  // namespace releasebot::storage
