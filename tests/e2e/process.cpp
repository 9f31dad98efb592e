#include "process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <filesystem>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace releasebot::testing {

http_reply http_request(unsigned short port, const std::string& method, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  namespace asio = boost::asio;
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    asio::write(socket, asio::buffer(request));
    std::string raw;
    boost::system::error_code error;
    asio::read(socket, asio::dynamic_buffer(raw), error);
    http_reply answer;
    std::istringstream head{raw.substr(0, raw.find("\r\n\r\n"))};
    std::string version;
    head >> version >> answer.status;
    std::string line;
    while (std::getline(head, line)) {
      if (line.rfind("Content-Type: ", 0) == 0) answer.content_type = line.substr(14, line.size() - 15);
    }
    answer.body = raw.substr(raw.find("\r\n\r\n") + 4);
    return answer;
  } catch (const std::exception&) {
    return {};
  }
}


unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return probe.local_endpoint().port();
}


process_result run_process(const std::vector<std::string>& argv, const std::string& input, std::chrono::seconds timeout) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error{"pipe failed"};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) throw std::runtime_error{std::string{"spawn failed: "} + std::strerror(rc)};

  process_result result;
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buffer[65536];
  while (out_open || err_open) {
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({out_pipe[0], POLLIN, 0});
    if (err_open) fds.push_back({err_pipe[0], POLLIN, 0});
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0) continue;
    for (const auto& fd : fds) {
      if (fd.revents == 0) continue;
      if (fd.fd == in_fd) {
        const auto n = ::write(in_fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const auto n = ::read(fd.fd, buffer, sizeof buffer);
      if (n <= 0) {
        (fd.fd == out_pipe[0] ? out_open : err_open) = false;
      } else {
        (fd.fd == out_pipe[0] ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "releasebot-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error{"mkdtemp failed"};
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace releasebot::testing

namespace releasebot::testing {

running_process::running_process(const std::vector<std::string>& argv) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error{"pipe failed"};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) throw std::runtime_error{std::string{"spawn failed: "} + std::strerror(rc)};
  in_ = in_pipe[1];
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

running_process::~running_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  for (int fd : {in_, out_fd_, err_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void running_process::write(const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const auto n = ::write(in_, text.data() + written, text.size() - written);
    if (n <= 0) throw std::runtime_error{"write to the bot failed"};
    written += static_cast<std::size_t>(n);
  }
}

void running_process::close_input() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void running_process::pump(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
  if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
  if (fds.empty() || ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return;
  char buffer[65536];
  for (const auto& fd : fds) {
    if (fd.revents == 0) continue;
    const auto n = ::read(fd.fd, buffer, sizeof buffer);
    auto& target = fd.fd == out_fd_ ? out_ : err_;
    if (n > 0) {
      target.append(buffer, static_cast<std::size_t>(n));
    } else {
      ::close(fd.fd);
      (fd.fd == out_fd_ ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool running_process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for(out_, text, timeout);
}

bool running_process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for(err_, text, timeout);
}

bool running_process::wait_for(const std::string& seen, const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(text) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return false;
    pump(std::min(left, std::chrono::milliseconds{100}));
  }
  return true;
}

void running_process::signal(int number) {
  if (pid_ > 0) ::kill(pid_, number);
}

int running_process::wait() {
  if (pid_ <= 0) return -1;
  while (out_fd_ >= 0 || err_fd_ >= 0) pump(std::chrono::milliseconds{100});
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::unique_ptr<running_process> start_http_bot(const std::string& binary, const std::string& db,
                                                const std::string& config, unsigned short port) {
  ::unsetenv("SLACK_APP_TOKEN");
  ::unsetenv("SLACK_BOT_TOKEN");
  ::unsetenv("MICROSOFT_APP_ID");
  auto bot = std::make_unique<running_process>(
      std::vector<std::string>{binary, "run", "--db", db, "--config", config, "--log-level", "info"});
  for (int i = 0; i < 100 && http_request(port, "GET", "/healthz").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{30});
  }
  return bot;
}

}  // namespace releasebot::testing
