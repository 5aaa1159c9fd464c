import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/**
 * Codes raised by src/config. Add new codes here; run `npm run docs:errors` afterwards.
 *
 * Exit statuses: CONFIG_SYNTAX (65) when a line cannot be read as the format at all (unknown
 * directive, malformed value), CONFIG_SEMANTIC (78) when it reads but means something impossible
 * (unresolvable host, duplicate service, out-of-range number), NO_INPUT (66) for missing files.
 * Codes named DIR_ERR_CONFIG_LINT_* are warnings: they never fail a load on their own.
 */
export const CONFIG_CODES = {
  DIR_ERR_CONFIG_INTERNAL: {
    message: 'internal error while reading the config: {reason}',
    hint: 'this is a bug in directord; please report it with the config file that triggers it',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONFIG_FILE_NOT_FOUND: {
    message: 'config file {file} not found',
    hint: 'check the path given with -f, or create the file (see conf/ for examples)',
    exitStatus: EXIT.NO_INPUT,
  },
  DIR_ERR_CONFIG_FILE_UNREADABLE: {
    message: 'cannot read config file {file}: {reason}',
    hint: 'check the file permissions and that the path is a regular file',
    exitStatus: EXIT.NO_INPUT,
  },
  DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE: {
    message: 'unknown directive "{directive}"',
    hint: 'directive names are lower case and case-sensitive; see docs/ldirectord-compat.md for the list',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_WRONG_CONTEXT: {
    message: '"{directive}" is not allowed {context}',
    hint: 'global directives start in column 0 outside virtual blocks; per-virtual directives are indented by 4+ spaces or a tab under a virtual= line',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_OUTSIDE_BLOCK: {
    message: 'indented line "{text}" is not inside a virtual block',
    hint: 'a blank line (or an indent of fewer than 4 spaces) ends a virtual block in ldirectord.cf; remove the blank line or start a new virtual= line',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE: {
    message: '{directive} directive deprecated in favour of {replacement}',
    hint: 'ldirectord refuses this directive too; use {replacement}',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_INVALID_VALUE: {
    message: '{directive}: {reason}',
    hint: 'see docs/ldirectord-compat.md or docs/config-toml.md for the accepted values',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_INVALID_YES_NO: {
    message: "{directive} must be 'yes' or 'no' (got {value})",
    hint: 'nothing may follow yes/no on the line: no trailing spaces, no "# comment", no CR from a DOS line ending',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_QUOTES_REQUIRED: {
    message: '{directive} needs a double-quoted value',
    hint: 'write {directive}="..." (ldirectord ignores the line otherwise and reports an unknown command)',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_INVALID_VIRTUAL: {
    message: 'invalid address for virtual server: {value}',
    hint: 'write virtual=IPv4:port, virtual=hostname:port, virtual=FWMARK or virtual6=[IPv6]:port',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_WRONG_FAMILY: {
    message: '{reason}',
    hint: "a service's reals and fallback must have the service's IP family (in ldirectord.cf: virtual6=, real6= and fallback6= for IPv6)",
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_UNRESOLVABLE_HOST: {
    message: 'cannot resolve {what} "{host}" as an IPv{family} address',
    hint: 'use a numeric address, or make sure the name resolves (names are resolved once, at load time)',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_UNKNOWN_PORT: {
    message: 'invalid port ({port}) for {what}',
    hint: 'use a number 0..65535 or a service name such as http, https, domain, smtp',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_INVALID_REAL: {
    message: 'invalid real server line: {reason}',
    hint: 'real=ADDR[->ADDR2][:PORT] gate|masq|ipip [WEIGHT] ["REQUEST", "RECEIVE"] [l:LOWER] [u:UPPER]',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_FORWARD_METHOD: {
    message: 'forward method must be gate, masq or ipip (got "{value}")',
    hint: 'the forwarding method is case-sensitive: gate (direct routing), masq (NAT) or ipip (tunnel)',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_INVALID_RANGE: {
    message: 'invalid address range {first}->{last}: {reason}',
    hint: 'write real=FIRST->LAST:PORT with FIRST <= LAST (IPv4 only)',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_INVALID_FALLBACK: {
    message: 'invalid fallback server: {value}',
    hint: 'fallback=HOST[:PORT] [gate|masq|ipip]',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_OUT_OF_RANGE: {
    message: '{field} = {value} is outside {min}..{max}',
    hint: 'use a value in the accepted range',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_UNKNOWN_SCHEDULER: {
    message: 'unknown scheduler "{value}"',
    hint: 'one of rr, wrr, lc, wlc, sed, nq, sh, dh, lblc, lblcr, mh, fo, ovf',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_DUPLICATE_VIRTUAL: {
    message: 'duplicate virtual server {id} (first defined at {first})',
    hint: '10.0.0.1:80 and 10.0.0.1:http are the same service; merge the two blocks',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_DUPLICATE_NAME: {
    message: 'duplicate {what} "{name}" (first defined at {first})',
    hint: 'names must be unique; rename or merge one of them',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_DUPLICATE_VRID: {
    message: 'virtual_router_id {vrid} is used twice on {interface} for IPv{family} (instances {first} and {second})',
    hint: 'each VRRP instance on one interface and family needs its own virtual_router_id',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_UNKNOWN_REFERENCE: {
    message: '{what} "{name}" is not defined',
    hint: 'define it, or correct the name (names are case-sensitive)',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_CONFLICT: {
    message: '{reason}',
    hint: 'change one of the conflicting settings',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_TOML_SYNTAX: {
    message: 'TOML syntax error: {reason}',
    hint: 'fix the TOML syntax at this position (strings need quotes, tables [x], arrays of tables [[x]])',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CONFIG_UNKNOWN_KEY: {
    message: 'unknown key "{key}" in {section}',
    hint: 'see docs/config-toml.md for the keys each section accepts',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_WRONG_TYPE: {
    message: '{key} must be {expected} (got {actual})',
    hint: 'see docs/config-toml.md for the type of each key',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_MISSING_KEY: {
    message: '{section} needs "{key}"',
    hint: 'add the key; see docs/config-toml.md',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_INCLUDE_NOT_FOUND: {
    message: 'included file {file} not found',
    hint: 'include paths are relative to the file that includes them',
    exitStatus: EXIT.NO_INPUT,
  },
  DIR_ERR_CONFIG_PATH_UNUSABLE: {
    message: '{directive}: cannot use {path}: {reason}',
    hint: 'create the directory or correct the path',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  // ---- lint warnings (severity "warning"; a config with only these loads fine) ----
  DIR_ERR_CONFIG_LINT_FWMARK_FROM_ADDRESS: {
    message: 'virtual={value} has no port, so ldirectord reads it as firewall mark {mark}',
    hint: 'add the port (virtual={value}:80) unless a firewall-mark service was really meant',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_IGNORED_TEXT: {
    message: '{directive}: text "{text}" is ignored',
    hint: 'ldirectord ignores it silently too; remove it or fix the syntax you meant',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_MISPARSED_ADDRESS: {
    message: 'real server address "{written}" is read as host "{host}" (ldirectord matches the address anywhere in the line)',
    hint: 'write a plain address or host name; octet ranges like 10.0.0.[1-5] do not exist, use 10.0.0.1->10.0.0.5',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_REAL_CHECK_IGNORED: {
    message: 'per-real request "{request}" starts with "/", so ldirectord ignores this request/receive pair{dropped}',
    hint: 'write the request without the leading slash ("{suggestion}") for the override to take effect',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_THRESHOLD_DROPPED: {
    message: 'u:{value} before l: is dropped (ldirectord reads l: first and discards what precedes it)',
    hint: 'write l:LOWER before u:UPPER',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_SCHEDULER_MANGLED: {
    message: 'scheduler={value} is read as "{scheduler}" (the first run of lower-case letters)',
    hint: 'scheduler names are lower case: write scheduler={scheduler} if that is what you meant',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_RANGE_BUG: {
    message: 'range {first}->{last} gives {count} real servers here, but ldirectord would add {ldirectordCount} (it compares addresses as strings)',
    hint: 'split the range at the digit boundary if this file must also work with ldirectord',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_WEIGHT_MIDLINE: {
    message: 'weight {weight} is taken from the middle of the line; "{skipped}" is ignored',
    hint: 'write the weight right after the forwarding method',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_DEPRECATED: {
    message: '{reason}',
    hint: '{advice}',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE: {
    message: '{reason}',
    hint: '{advice}',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_SHELL_SYNTAX: {
    message: '{directive} "{command}" contains shell syntax ({chars}); directord never runs a shell',
    hint: 'the words are passed as arguments literally; put pipelines and redirections in a script and name the script',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_COMMAND_ARGUMENTS: {
    message: 'checkcommand "{command}" has arguments: ldirectord would try to run a file literally named "{command}" (and always fail); directord runs {program} with the arguments',
    hint: 'this is probably what you meant; ldirectord itself only accepts a bare path',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_NO_CHECK: {
    message: 'virtual {id}: checktype=negotiate with service=none checks nothing: every real is always up',
    hint: 'set service= (e.g. http) or checktype=connect',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_REGEX: {
    message: 'receive "{pattern}": {reason}',
    hint: 'receive is a Perl regex in ldirectord and a JavaScript regex here; rewrite constructs JavaScript lacks',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_DUPLICATE_REAL: {
    message: 'real server {key} is listed twice in {id}; the second entry is ignored',
    hint: 'remove the duplicate line (ldirectord adds it twice and ipvsadm rejects the second)',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_PATH_MISSING: {
    message: '{directive}: {path} does not exist',
    hint: 'create it before starting the director',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_CONFIG_LINT_SUSPICIOUS: {
    message: '{reason}',
    hint: '{advice}',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
