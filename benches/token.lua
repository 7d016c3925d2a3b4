-- wrk script: client_credentials token requests with client_secret_basic (RFC 6749 §4.4, §2.3.1).
--
--   wrk -t2 -c64 -d20s -s benches/token.lua http://127.0.0.1:8080/oauth/token
--   wrk -t2 -c64 -d20s -s benches/token.lua http://127.0.0.1:8080/oauth/token -- CLIENT_ID CLIENT_SECRET
--
-- The credentials come from the script arguments, else from ATTESTO_DEMO_CLIENT_ID (default
-- `demo-client`) and ATTESTO_DEMO_CLIENT_SECRET, the variables the quickstart reads. Every response
-- that is not 200 is counted and reported at the end: a run of 401s measures nothing.

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1)
      .. (b and b64chars:sub(c3 + 1, c3 + 1) or "=") .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials.
local function form_encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local id = args[1] or os.getenv("ATTESTO_DEMO_CLIENT_ID") or "demo-client"
  local secret = args[2] or os.getenv("ATTESTO_DEMO_CLIENT_SECRET")
  if id == "" then id = "demo-client" end
  if secret == nil or secret == "" then
    error("set ATTESTO_DEMO_CLIENT_SECRET (or pass `-- CLIENT_ID CLIENT_SECRET`)")
  end
  wrk.method = "POST"
  wrk.body = "grant_type=client_credentials&scope=read"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. base64(form_encode(id) .. ":" .. form_encode(secret))
  ok = 0
  non200 = 0
  first_status = nil
  first_body = nil
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    non200 = non200 + 1
    if first_status == nil then
      first_status = status
      first_body = body
    end
  end
end

function done(summary, latency, requests)
  local ok_total, bad_total = 0, 0
  local status, body
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    bad_total = bad_total + (thread:get("non200") or 0)
    status = status or thread:get("first_status")
    body = body or thread:get("first_body")
  end
  io.write(string.format("200 responses: %d, non-200 responses: %d\n", ok_total, bad_total))
  if bad_total > 0 then
    io.write(string.format("first non-200: %s %s\n", tostring(status), tostring(body)))
    io.write("WARNING: non-200 responses; these numbers do not measure token issuance\n")
  end
end
