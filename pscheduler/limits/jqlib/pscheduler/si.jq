# SI-suffixed numbers for limit scripts: import "pscheduler/si" as si;
# si::as_number("10M") == 10000000, si::as_number("1Ki") == 1024.

def as_number(value):
  if (value | type) == "number" then value
  else
    (value | tostring | ascii_upcase
     | capture("^\\s*(?<n>[0-9]+([.][0-9]+)?)\\s*(?<u>[KMGTPEZY]I?)?\\s*$"))
    // error("Invalid SI value '\(value)'")
    | (.n | tonumber) * (
        {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21, "Y": 1e24,
         "KI": 1024, "MI": 1048576, "GI": 1073741824, "TI": 1099511627776,
         "PI": 1125899906842624, "EI": 1152921504606846976,
         "ZI": 1180591620717411303424, "YI": 1208925819614629174706176}[.u // ""] // 1)
  end;
