// A SQLite connection with prepared statements and RAII transactions; no sqlite3.h leaks out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace releasebot::storage {

class database_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class database;

class statement {
public:
  statement(database& db, std::string_view sql);
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;
  ~statement();

  // Bind by 1-based position; chainable.
  statement& bind(int index, std::int64_t value);
  statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  statement& bind(int index, std::string_view value);
  statement& bind(int index, const char* value) { return bind(index, std::string_view{value}); }
  statement& bind(int index, const std::string& value) { return bind(index, std::string_view{value}); }
  statement& bind(int index, const std::optional<std::string>& value);
  statement& bind(int index, const std::optional<std::int64_t>& value);
  statement& bind_null(int index);

  // Binds every argument in order, starting at 1.
  template <typename... Args>
  statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  // true while a row is available.
  bool step();
  // Runs to completion; returns the number of rows changed.
  int execute();
  void reset();

  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  bool column_is_null(int index) const;

private:
  database* db_;
  sqlite3_stmt* handle_ = nullptr;
};

class database {
public:
  // Opens (creating if missing) with WAL, foreign keys, a busy timeout; throws database_error
  // with a message that names the file and what to do.
  static database open(const std::filesystem::path& file);
  static database open_in_memory();

  database(const database&) = delete;
  database& operator=(const database&) = delete;
  database(database&& other) noexcept;
  database& operator=(database&& other) noexcept;
  ~database();

  void execute_script(std::string_view sql);
  statement prepare(std::string_view sql) { return statement{*this, sql}; }
  std::int64_t last_insert_id() const;
  int changes() const;
  bool in_transaction() const;
  const std::string& name() const { return name_; }
  // true when a trivial query answers (for readiness checks).
  bool reachable();
  // Told how long each COMMIT took (for the operations metrics); one observer.
  void on_commit(std::function<void(std::chrono::steady_clock::duration)> observer) { commit_observer_ = std::move(observer); }

  sqlite3* handle() const { return handle_; }
  [[noreturn]] void raise(std::string_view what) const;

private:
  friend class statement;
  friend class transaction;
  database(sqlite3* handle, std::string name) : handle_{handle}, name_{std::move(name)} {}
  // Compiling SQL costs more than running most of our statements, so a statement's compiled form
  // is kept after use and handed out again for the same text (several copies when in use at once).
  sqlite3_stmt* take_prepared(std::string_view sql);
  void give_back(sqlite3_stmt* handle);
  void finalize_cached();

  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  sqlite3* handle_ = nullptr;
  std::string name_;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, text_hash, std::equal_to<>> prepared_;
  std::function<void(std::chrono::steady_clock::duration)> commit_observer_;
};

// How much a commit survives. Commands are always `power_loss` (the WAL is synced before the
// commit returns: an acknowledged sign-off survives a power cut). Bookkeeping that can be redone
// (e.g. "this outbox row was delivered") may be `process_crash`: it survives the bot being killed,
// costs no sync, and is synced with the next `power_loss` commit.
enum class durability { power_loss, process_crash };

// BEGIN IMMEDIATE on construction; rolls back in the destructor unless committed.
class transaction {
public:
  explicit transaction(database& db, durability level = durability::power_loss);
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();
  void commit();

private:
  void restore_durability();
  database& db_;
  durability level_;
  bool done_ = false;
};

// A nested unit inside a transaction (SAVEPOINT): released on commit(), rolled back to (undoing
// only its own changes) in the destructor otherwise. Lets several commands share one commit.
class savepoint {
public:
  explicit savepoint(database& db);
  savepoint(const savepoint&) = delete;
  savepoint& operator=(const savepoint&) = delete;
  ~savepoint();
  void commit();

private:
  database& db_;
  bool done_ = false;
};

}  // namespace releasebot::storage
