-- sysbench script: MariaDB's own rate for the statements behind each taskman
-- operation, one statement per event. --stmt picks it, --tasks bounds the ids.
sysbench.cmdline.options = {
  stmt = { "get | insert | update | first | deep", "get" },
  tasks = { "rows in task", 10000 },
}

local cols = "id, title, description, expiry_dt, create_dt, update_dt"

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
end

function thread_done()
  con:disconnect()
end

function event()
  local s, n = sysbench.opt.stmt, sysbench.opt.tasks
  local id = sysbench.rand.uniform(1, n)
  if s == "get" then
    con:query("SELECT " .. cols .. " FROM task WHERE id = " .. id)
  elseif s == "insert" then
    con:query("INSERT INTO task (title, description, expiry_dt, create_dt, update_dt) VALUES "
      .. "('bench task', 'written by make bench', '2099-06-01 00:00:00', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))")
  elseif s == "update" then
    con:query("UPDATE task SET title = 'bench task', description = 'written by make bench', "
      .. "expiry_dt = '2099-06-01 00:00:00', update_dt = UTC_TIMESTAMP(6) WHERE id = " .. id)
  elseif s == "first" then
    con:query("SELECT " .. cols .. " FROM task ORDER BY id LIMIT 50")
  else
    con:query("SELECT " .. cols .. " FROM task WHERE id > " .. math.max(n - 100, 0) .. " ORDER BY id LIMIT 50")
  end
end
