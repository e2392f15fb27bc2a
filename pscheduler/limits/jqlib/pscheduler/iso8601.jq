# ISO 8601 helpers for limit scripts: import "pscheduler/iso8601" as iso;

def invalid_duration(value):
  error("Invalid ISO 8601 duration '\(value)'");

# Seconds in a W/D/H/M/S duration such as "PT1M30S".
def duration_as_seconds(value):
  if (value | type) != "string" then invalid_duration(value) else . end
  | (value
     | ascii_upcase
     | capture("^P(?!$)((?<w>[0-9]+([.][0-9]+)?)W)?((?<d>[0-9]+([.][0-9]+)?)D)?(T(?=[0-9])((?<h>[0-9]+([.][0-9]+)?)H)?((?<m>[0-9]+([.][0-9]+)?)M)?((?<s>[0-9]+([.][0-9]+)?)S)?)?$"))
    // invalid_duration(value)
  | map_values(if . == null then 0 else tonumber end)
  | (.w * 604800) + (.d * 86400) + (.h * 3600) + (.m * 60) + .s;

# The components of a timestamp ("2024-05-01T10:00:03+00:00") as an object of strings.
def timestamp_parsed(timestamp):
  (timestamp
   | capture("^(?<year>[0-9]{4,})-(?<month>[0-9]{1,2})-(?<day>[0-9]{1,2})(T(?<hour>[0-9]{1,2}):(?<minute>[0-9]{1,2})(:(?<second>[0-9]{1,2}))?([.][0-9]+)?((?<z>Z)|((?<offset_hr>[-+][0-9]{2})(:?(?<offset_min>[0-9]{2}))?))?)?$"))
  // error("Invalid timestamp '\(timestamp)'")
  | if .z != null then .offset_hr = "0" | .offset_min = "0" else . end
  | del(.z)
  | with_entries(select(.value != null));
