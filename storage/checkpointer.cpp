#include "storage/checkpointer.hpp"

#include <sqlite3.h>

namespace releasebot::storage {

checkpointer::checkpointer(database& db, const std::filesystem::path& file, std::chrono::milliseconds interval)
    : interval_{interval} {
  auto own = database::open(file);
  db.prepare("PRAGMA wal_autocheckpoint = 0").step();
  thread_ = std::thread{[this, own = std::move(own)]() mutable { run(std::move(own)); }};
}

checkpointer::~checkpointer() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int checkpointer::checkpoints_done() const {
  std::lock_guard lock{mutex_};
  return done_;
}

void checkpointer::run(database own) {
  std::unique_lock lock{mutex_};
  while (true) {
    const bool last = wake_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    int log_frames = 0;
    int copied_frames = 0;
    // PASSIVE never waits for the bot's connection; busy or not, it is tried again next time.
    const int rc = sqlite3_wal_checkpoint_v2(own.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                             &copied_frames);
    lock.lock();
    if (rc == SQLITE_OK && copied_frames > 0) ++done_;
    if (last) return;
  }
}

}  // namespace releasebot::storage
