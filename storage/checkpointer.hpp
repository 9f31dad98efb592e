// Copies the write-ahead log back into the database file on a thread of its own, with its own
// connection, so that the thread answering people never stops for it. SQLite would otherwise do
// it inside whichever commit crosses 1,000 WAL pages, syncing the database file while that
// command (and everything queued behind it) waits.
#pragma once

#include "storage/database.hpp"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

namespace releasebot::storage {

class checkpointer {
public:
  // Turns off automatic checkpoints on `db` and starts checkpointing `db`'s file every `interval`.
  checkpointer(database& db, const std::filesystem::path& file,
               std::chrono::milliseconds interval = std::chrono::milliseconds{500});
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;
  ~checkpointer();  // one last checkpoint, then the thread ends

  int checkpoints_done() const;

private:
  void run(database own);

  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int done_ = 0;
  std::thread thread_;
};

}  // namespace releasebot::storage
