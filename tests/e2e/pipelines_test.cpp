// End-to-end: `deploy <version> <env> run` from the console of the real `releasebot run` starts
// the environment's pipeline on a fake GitHub / GitLab (HTTPS on 127.0.0.1), and GitHub's signed
// workflow_run deliveries carry the deployment to "done" without anyone typing a step.
#include "database_probe.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "process.hpp"
#include "tests/fakes/fake_forge.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::count;
using releasebot::testing::fake_forge;
using releasebot::testing::forge_call;
using releasebot::testing::forge_delivery;
using releasebot::testing::free_port;
using releasebot::testing::http_reply;
using releasebot::testing::http_request;
using releasebot::testing::running_process;
using releasebot::testing::start_http_bot;
using releasebot::testing::temp_dir;
using releasebot::testing::text_of;

namespace {

const std::string github_secret = "a GitHub webhook secret";

const std::string script_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class pipeline_setup {
public:
  // `script_on_alpha`: alpha's pipeline is a release script (a signed POST), not GitHub.
  explicit pipeline_setup(bool script_on_alpha = false) : port_{free_port()} {
    std::ofstream out{config()};
    out << "[access]\nadmins = [\"alice\"]\n"
        << "[http]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
        << "[webhooks.github]\nkind = \"github\"\nsecret_env = \"RELEASEBOT_TEST_GITHUB_SECRET\"\n"
        << "workflows = [\"Deploy\"]\nversion_from = \"title\"\n"
        << "[webhooks.gitlab]\nkind = \"gitlab\"\nsecret_env = \"RELEASEBOT_TEST_GITLAB_HOOK_TOKEN\"\n"
        << "[webhooks.gitlab.environments]\nstaging = \"alpha\"\n";
    if (script_on_alpha) {
      out << "[pipelines.alpha]\nkind = \"generic\"\nurl = \"" << forge_.base_url() << "/script\"\n"
          << "secret_env = \"RELEASEBOT_TEST_SCRIPT_SECRET\"\nname = \"the release script\"\n";
    } else {
      out << "[pipelines.alpha]\nkind = \"github\"\nrepository = \"acme/shop\"\n"
          << "workflow = \"deploy.yml\"\ntoken_env = \"RELEASEBOT_TEST_GITHUB_TOKEN\"\n"
          << "api_url = \"" << forge_.base_url() << "\"\n";
    }
    out
                            << "[pipelines.beta]\nkind = \"gitlab\"\nproject = \"acme/shop\"\nref = \"release\"\n"
                            << "token_env = \"RELEASEBOT_TEST_GITLAB_TOKEN\"\nurl = \"" << forge_.base_url() << "\"\n";
  }

  fake_forge& forge() { return forge_; }
  std::string db() const { return dir_.file("bot.db"); }
  std::string config() const { return dir_.file("releasebot.toml"); }

  std::unique_ptr<running_process> start_bot() {
    ::setenv("RELEASEBOT_TEST_GITHUB_SECRET", github_secret.c_str(), 1);
    ::setenv("RELEASEBOT_TEST_GITHUB_TOKEN", "ghp_test_token", 1);
    ::setenv("RELEASEBOT_TEST_GITLAB_TOKEN", "glptt-trigger", 1);
    ::setenv("RELEASEBOT_TEST_SCRIPT_SECRET", script_secret.c_str(), 1);
    ::setenv("RELEASEBOT_TEST_GITLAB_HOOK_TOKEN", "gitlab hook token", 1);
    ::setenv("SSL_CERT_FILE", forge_.ca_file().c_str(), 1);
    return start_http_bot(RELEASEBOT_BINARY, db(), config(), port_);
  }

  // GitHub telling the bot about run `run` of the Deploy workflow.
  http_reply github(const std::string& delivery_id, const std::string& action, const std::string& conclusion = {},
                    const std::string& title = "Deploy 4.2.0 to alpha", const std::string& secret = github_secret) {
    const auto delivery = forge_.workflow_run(secret, delivery_id, action, conclusion, "Deploy", title, 100);
    return http_request(port_, "POST", "/hooks/github", delivery.headers, delivery.body);
  }

  // GitLab's Deployment Hook for environment "staging".
  http_reply gitlab(const std::string& uuid, const std::string& status, const std::string& token = "gitlab hook token") {
    const nlohmann::json body{{"object_kind", "deployment"},      {"status", status},
                              {"deployment_id", 15},              {"environment", "staging"},
                              {"ref", "v4.2.0"},                  {"short_sha", "279484c0"},
                              {"deployable_url", "https://gitlab.example.com/acme/shop/-/jobs/1"}};
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                             {"X-Gitlab-Event", "Deployment Hook"},
                                                             {"X-Gitlab-Token", token}};
    if (!uuid.empty()) headers.emplace_back("X-Gitlab-Event-UUID", uuid);
    return http_request(port_, "POST", "/hooks/gitlab", headers, body.dump());
  }

private:
  fake_forge forge_;
  temp_dir dir_;
  unsigned short port_;
};

void open_release(running_process& bot) {
  bot.write("open 4.2.0 hotfix Checkout fix\nadvance 4.2.0 force drill\n");
  REQUIRE(bot.wait_for_output("4.2.0 is now in regression", 5s));
}

bool is_dispatch(const forge_call& call) { return call.path == "/repos/acme/shop/actions/workflows/deploy.yml/dispatches"; }

}  // namespace

TEST_CASE("deploy run starts the GitHub workflow, and its runs carry the deployment to done", "[e2e][pipelines]") {
  pipeline_setup s;
  auto bot = s.start_bot();
  open_release(*bot);

  // Out of path order, or no pipeline: refused before anything is asked of a forge.
  bot->write("deploy 4.2.0 beta run\n");
  CHECK(bot->wait_for_output("beta comes after alpha, which has not been deployed", 5s));
  bot->write("deploy 4.2.0 production run\n");
  CHECK(bot->wait_for_output("production has no pipeline I can start — add [pipelines.production]", 5s));

  // GitHub is down at first: the request is retried, and made once.
  s.forge().fail_next_calls(503, 1, "Service Unavailable");
  bot->write("deploy 4.2.0 alpha run\n");
  CHECK(bot->wait_for_output("Asking GitHub Actions to deploy 4.2.0 to alpha; its progress will appear in the thread.", 5s));
  CHECK(bot->wait_for_output("asked GitHub Actions to deploy 4.2.0 to alpha", 5s));
  const auto dispatched = s.forge().wait_for_call([](const forge_call& call) { return is_dispatch(call) && call.status == 200; }, 10s);
  if (!dispatched) FAIL(bot->out() + "\n" + bot->err());
  CHECK(dispatched->headers.at("authorization") == "Bearer ghp_test_token");
  CHECK(dispatched->headers.at("accept") == "application/vnd.github+json");
  const auto body = nlohmann::json::parse(dispatched->body);
  CHECK(body["ref"] == "main");
  CHECK(body["inputs"] == nlohmann::json{{"version", "4.2.0"}, {"env", "alpha"}});
  CHECK(body["return_run_details"] == true);
  CHECK(bot->wait_for_output("GitHub Actions is deploying 4.2.0 to alpha: https://github.com/acme/shop/actions/runs/100", 5s));
  CHECK(s.forge().calls().size() == 2);  // the 503, then the one that started the run
  CHECK(count(s.db(), "SELECT count(*) FROM outbox WHERE platform = 'pipeline' AND sent_at IS NOT NULL") == 1);

  // GitHub reports the run. A forged delivery changes nothing.
  CHECK(s.github("d-0", "requested", {}, "Deploy 4.2.0 to alpha", "not the secret").status == 401);
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 0);
  CHECK(s.github("d-1", "requested").status == 200);
  CHECK(bot->wait_for_output("Deployment of 4.2.0 to alpha started by GitHub Actions", 5s));
  // In progress, and a redelivery: nothing more is recorded or announced.
  const auto progress = s.github("d-2", "in_progress");
  CHECK(progress.status == 200);
  CHECK(progress.body.find("Already recorded") != std::string::npos);
  const auto again = s.github("d-1", "requested");
  CHECK(again.status == 200);
  CHECK(nlohmann::json::parse(again.body).value("duplicate", false));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 1);
  // A run of the workflow for no release it can find: refused with the reason.
  const auto lost = s.github("d-3", "requested", {}, "Deploy to alpha");
  CHECK(lost.status == 422);
  CHECK(lost.body.find("no release version in its title") != std::string::npos);

  CHECK(s.github("d-4", "completed", "success").status == 200);
  CHECK(bot->wait_for_output("4.2.0 is deployed to alpha", 5s));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments WHERE environment = 'alpha' AND outcome = 'succeeded'") == 1);
  CHECK(text_of(s.db(), "SELECT started_by FROM deployments") == "webhook:github");
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE action = 'deploy_run' AND actor = 'alice'") == 1);
  // Started, the build it deployed (its commit), done.
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE actor = 'webhook:github'") == 3);
  CHECK(bot->wait_for_output("4.2.0 build 9fceb02 is on alpha — commit 9fceb02d0ae5 — reported by GitHub Actions", 5s));
  CHECK(count(s.db(), "SELECT count(*) FROM deployment_steps") == 0);  // nobody typed anything

  // Beta runs on GitLab: a pipeline trigger with the release in its variables.
  bot->write("deploy 4.2.0 beta run\n");
  const auto triggered = s.forge().wait_for_call(
      [](const forge_call& call) { return call.path == "/api/v4/projects/acme%2Fshop/trigger/pipeline"; }, 10s);
  REQUIRE(triggered);
  CHECK(triggered->body.find("token=glptt-trigger") != std::string::npos);
  CHECK(triggered->body.find("ref=release") != std::string::npos);
  CHECK(triggered->body.find("variables%5BRELEASE_VERSION%5D=4.2.0") != std::string::npos);
  CHECK(triggered->body.find("variables%5BRELEASE_ENV%5D=beta") != std::string::npos);
  CHECK(triggered->headers.count("authorization") == 0);  // the GitHub token stays with GitHub
  CHECK(bot->wait_for_output("GitLab CI is deploying 4.2.0 to beta: https://gitlab.example.com/acme/shop/-/pipelines/", 5s));

  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a pipeline that refuses the request is reported in the thread, and an older GitHub still runs",
          "[e2e][pipelines]") {
  pipeline_setup s;
  auto bot = s.start_bot();
  open_release(*bot);

  s.forge().fail_next_calls(422, 1, "Unexpected inputs provided: [\"env\"]");
  bot->write("deploy 4.2.0 alpha run\n");
  CHECK(bot->wait_for_output("GitHub Actions did not start the deployment of 4.2.0 to alpha that @alice asked for: "
                             "GitHub answered 422: Unexpected inputs provided: [\"env\"]",
                             10s));
  CHECK(count(s.db(), "SELECT count(*) FROM outbox WHERE platform = 'pipeline' AND failed_reason IS NOT NULL") == 1);
  CHECK(s.forge().calls().size() == 1);  // not retried: GitHub said no

  // An Enterprise Server without run details: asked again without them, and it runs.
  s.forge().refuse_run_details(true);
  bot->write("deploy 4.2.0 alpha run\n");
  CHECK(bot->wait_for_output("GitHub Actions is deploying 4.2.0 to alpha — its progress will appear here.", 10s));
  const auto calls = s.forge().calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[1].status == 422);
  CHECK(calls[2].status == 204);
  CHECK(nlohmann::json::parse(calls[2].body).contains("return_run_details") == false);

  s.forge().fail_next_calls(401, 1, "Bad credentials");
  bot->write("deploy 4.2.0 alpha run\n");
  CHECK(bot->wait_for_output("GitHub answered 401: Bad credentials — the token in RELEASEBOT_TEST_GITHUB_TOKEN was refused", 10s));
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("kill -9 while GitHub is being asked: the run is not asked for twice, and the thread is told",
          "[e2e][pipelines]") {
  pipeline_setup s;
  {
    auto bot = s.start_bot();
    open_release(*bot);
    s.forge().delay_next_call(5s);
    bot->write("deploy 4.2.0 alpha run\n");
    REQUIRE(s.forge().wait_for_call(is_dispatch, 10s));
    bot->signal(SIGKILL);
    bot->wait();
  }
  auto bot = s.start_bot();
  CHECK(bot->wait_for_output("I cannot tell whether GitHub Actions started deploying 4.2.0 to alpha — the bot stopped or "
                             "the connection broke while I asked — so I did not ask again",
                             10s));
  std::this_thread::sleep_for(500ms);
  CHECK(s.forge().calls().size() == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM outbox WHERE platform = 'pipeline' AND failed_reason IS NOT NULL") == 1);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("deploy run posts a signed request to a release script", "[e2e][pipelines]") {
  pipeline_setup s{true};
  auto bot = s.start_bot();
  open_release(*bot);
  bot->write("deploy 4.2.0 alpha run\n");
  const auto call = s.forge().wait_for_call([](const forge_call& c) { return c.path == "/script"; }, 10s);
  REQUIRE(call);
  namespace hooks = releasebot::integrations::webhooks;
  const auto key = *hooks::secret_key(script_secret);
  CHECK(call->headers.at("webhook-id").starts_with("run_"));
  CHECK(hooks::verify(key, call->headers.at("webhook-id"), call->headers.at("webhook-timestamp"),
                      call->headers.at("webhook-signature"), call->body,
                      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))
            .empty());
  const auto body = nlohmann::json::parse(call->body);
  CHECK(body == nlohmann::json{{"release", "4.2.0"}, {"environment", "alpha"}, {"event", "run"}, {"asked_by", "alice"}});
  CHECK(bot->wait_for_output("the release script is deploying 4.2.0 to alpha: https://ci.example.com/job/17", 10s));
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("GitLab's deployment events carry a deployment to done; a wrong token changes nothing", "[e2e][pipelines]") {
  pipeline_setup s;
  auto bot = s.start_bot();
  open_release(*bot);
  const auto forged = s.gitlab("u-1", "running", "guessed");
  CHECK(forged.status == 401);
  CHECK(forged.body.find("X-Gitlab-Token is not this source's secret token") != std::string::npos);
  CHECK(s.gitlab("", "running").status == 400);  // no delivery id: a repeat could not be told apart
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 0);

  CHECK(s.gitlab("u-2", "created").status == 200);  // nothing to record yet
  CHECK(s.gitlab("u-3", "running").status == 200);
  CHECK(bot->wait_for_output("Deployment of 4.2.0 to alpha started by GitLab CI", 5s));
  CHECK(bot->wait_for_output("4.2.0 build 279484c is on alpha", 5s));
  const auto again = s.gitlab("u-3", "running");
  CHECK(nlohmann::json::parse(again.body).value("duplicate", false));
  CHECK(s.gitlab("u-4", "success").status == 200);
  CHECK(bot->wait_for_output("4.2.0 is deployed to alpha", 5s));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments WHERE outcome = 'succeeded'") == 1);
  CHECK(text_of(s.db(), "SELECT started_by FROM deployments") == "webhook:gitlab");
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}
