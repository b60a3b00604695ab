-- The mixed field workload load-bench drives wrk with. load-bench writes a preamble before
-- this file that defines: tokens (device tokens of helpers), households, village, helper_id,
-- pull_page, pull_head, photos (thumbnail and original paths) and mix (kind, weight).
-- LOAD_DELAY_MS (environment) makes each connection wait that long between requests: the
-- half-load runs.

local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0")
local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   counter = 0
   sent = {}
   for _, m in ipairs(mix) do sent[m[1]] = 0 end
   math.randomseed(tid * 7919 + os.time())
   token = tokens[(tid - 1) % #tokens + 1]
   salt = os.time() % 65536
   total_weight = 0
   for _, m in ipairs(mix) do total_weight = total_weight + m[2] end
end

if delay_ms > 0 then
   function delay()
      return delay_ms
   end
end

local function uuid()
   counter = counter + 1
   return string.format("%08x-%04x-7000-8000-%012x", tid, salt, counter)
end

local function hlc()
   return string.format("%018d-%05d-load%d", os.time() * 1000, counter % 100000, tid)
end

-- Five visits of about 300 bytes each, as a phone pushes after a round of visits.
local function push_body()
   local parts = {}
   for k = 1, 5 do
      local household = households[math.random(#households)]
      parts[k] = string.format(
         '{"mutation_id":"%s","entity":"visit","id":"%s","base_version":0,"hlc":"%s",'
            .. '"fields":{"region_id":"%s","household_id":"%s","helper_id":"%s","kind":"routine",'
            .. '"visited_at":"2026-11-20T09:30:00Z","basic_needs":{"food":"met","safe_housing":"not_met"},'
            .. '"notes":"走访记录 %d：房屋需维修"}}',
         uuid(), uuid(), hlc(), village, household, helper_id, counter)
   end
   return '{"mutations":[' .. table.concat(parts, ",") .. "]}"
end

local function pick()
   local r = math.random() * total_weight
   for _, m in ipairs(mix) do
      r = r - m[2]
      if r <= 0 then return m[1] end
   end
   return mix[#mix][1]
end

function request()
   local kind = pick()
   sent[kind] = sent[kind] + 1
   local h = { ["Authorization"] = "Bearer " .. token }
   if kind == "push" then
      h["Bangfu-Sync-Protocol"] = "1"
      h["Content-Type"] = "application/json"
      return wrk.format("POST", "/v1/sync/push", h, push_body())
   elseif kind == "pull_page" then
      h["Bangfu-Sync-Protocol"] = "1"
      return wrk.format("GET", pull_page, h)
   elseif kind == "pull_head" then
      h["Bangfu-Sync-Protocol"] = "1"
      return wrk.format("GET", pull_head, h)
   elseif kind == "work_list" then
      return wrk.format("GET", "/v1/work-list", h)
   elseif kind == "thumb" then
      return wrk.format("GET", photos[math.random(#photos)] .. "?size=thumb", h)
   else
      return wrk.format("GET", photos[math.random(#photos)], h)
   end
end

function done(summary, latency, requests)
   local kinds = {}
   for _, m in ipairs(mix) do
      local n = 0
      for _, t in ipairs(threads) do n = n + (t:get("sent")[m[1]] or 0) end
      table.insert(kinds, string.format('"%s":%d', m[1], n))
   end
   local e = summary.errors
   io.write(string.format(
      'LOAD {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
         .. '"p999_us":%d,"max_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
         .. '"status_errors":%d,"timeouts":%d,"sent":{%s}}\n',
      summary.requests, summary.duration, summary.bytes, latency:percentile(50),
      latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, table.concat(kinds, ",")))
end
