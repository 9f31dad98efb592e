// Everything the Teams adapter needs to know: credentials from the environment, Microsoft's
// endpoints (configurable, so tests can point at local fakes), and the allow-lists.
#pragma once

#include <string>
#include <vector>

namespace releasebot::integrations::teams {

struct teams_settings {
  std::string app_id;        // MICROSOFT_APP_ID
  std::string app_password;  // MICROSOFT_APP_PASSWORD
  std::string tenant_id;     // MICROSOFT_APP_TENANT_ID (single-tenant app)
  std::string openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration";
  std::string token_url;     // empty: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
  std::string token_scope = "https://api.botframework.com/.default";
  std::vector<std::string> allowed_tenants;        // empty: only tenant_id
  std::vector<std::string> allowed_service_hosts{"smba.trafficmanager.net"};  // where our token may go
  std::string listen = "127.0.0.1:3978";
};

}  // namespace releasebot::integrations::teams
