"""The registry of diagnostic codes: one stable code, short name and explanation per diagnostic.

`E` codes are errors, `W` warnings and `N` notes. Each diagnostic site passes its code to the
sink; analysis findings get theirs from `FINDINGS` by kind and severity. docs/diagnostics.md
and tests/test_diagnostic_cases.py are checked against this table, so a code is added here,
with a case file under tests/data/diagnostics/, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    summary: str
    area: str

    @property
    def severity(self) -> str:
        return {"E": "error", "W": "warning", "N": "note"}[self.code[0]]


_TABLE = """
syntax
E001 unexpected-token | a token the grammar does not allow here; the message lists what it expected
E002 unexpected-character | a character that starts no token of the language
E003 unterminated-string | a string literal with no closing quote on its line
E004 unknown-escape | a backslash escape other than \\n \\t \\r \\" \\\\ \\{ \\}
E005 unmatched-brace | a `}` in a string with no `{` before it; write \\} for a brace
E006 unclosed-interpolation | a `{` in a string with no `}` after it; write \\{ for a brace
E007 empty-interpolation | `{}` in a string holds no expression
E008 bad-interpolation | the expression inside `{...}` in a string does not parse
E009 repeated-task-section | a task gives the same section (user, setup, gold, ...) twice
names
E010 second-domain | a program declares more than one `domain`
E011 builtin-type-name | a declared type takes the name of a built-in type
E012 duplicate-type | two types have the same name
E013 duplicate-function | two functions have the same name
E014 duplicate-tool | two tools of the same actor have the same name
E015 unknown-setting | a domain setting other than now, data, user_data, words, intro, arguments, transfer_tool, transfer_message, confirm and calls_per_turn
E016 duplicate-setting | a domain setting is given twice
E017 bad-now | the `now` setting is not a datetime literal
E018 setting-not-string | `data`, `user_data`, `words`, `intro`, `transfer_tool` or `transfer_message` is not a string
E019 no-domain | the program has no `domain` declaration
E043 builtin-function-name | a function takes the name of a built-in function
E044 bad-arguments-rule | the `arguments` setting is neither "lax" (the benchmark's coercion) nor "strict"
E056 bad-protocol-setting | `confirm` is neither "writes" nor "none", or `calls_per_turn` is not a whole number of at least 1
declarations
E020 duplicate-enum-member | an enum member name or value is repeated
E021 empty-enum | an enum has no members
E022 duplicate-variant | a union variant name or tag is repeated
E023 variant-declares-tag | a variant declares the field its union uses as the tag
E024 empty-union | a union has no variants
E025 duplicate-field | a record, variant or facts block declares a field twice
E026 type-argument-count | `list` takes one type argument and `map` two
E027 bad-map-key | map keys are str or an enum
E028 unexpected-type-arguments | a named type is given type arguments
E029 unknown-variant-type | `Union.variant` names no variant of the union
E030 variant-of-non-union | `Name.variant` as a type where Name is not a union
E031 unknown-type | a type name that is neither built in nor declared
E032 recursive-type | records or unions that contain themselves
E033 default-not-literal | a field or parameter default is not a literal value
E034 duplicate-state | two state fields have the same name
E041 reserved-state-name | a state field is called now, fact or state
E035 state-default | a state field has a default; state comes from the data file
E036 state-not-table | a state field is a primitive or optional instead of a table or record
E037 duplicate-fact | two facts have the same name
E038 duplicate-const | a const takes a name already defined
E039 const-not-literal | a const's value is not a literal
E040 duplicate-parameter | two parameters of one function, tool, setup or assertion have the same name
E042 reserved-parameter-name | a parameter is called now or fact
bodies
E045 missing-return | a body with a result type can reach its end without `return` or `fail`
W001 writes-never-writes | a tool declared `writes` never writes state
E046 duplicate-setup | two setups of the same actor have the same name
E047 duplicate-assertion | two assertions of the same actor have the same name
E048 guard-unknown-tool | a policy guard names no declared tool
E049 bad-derive-target | `derive` names something other than a field of a state record
E050 derive-through-non-record | a `derive` path goes through a value with no fields
E051 derive-unknown-field | a `derive` path names a field the record does not have
E052 duplicate-derive | the same field is derived twice
E053 recursion | functions call each other in a cycle; bodies must be total
E054 unknown-guard-outcome | a guard's `else` names an outcome other than refuse or transfer
E055 transfer-without-tool | a guard declares `else transfer` but the domain's `transfer_tool` setting names no agent tool
statements
W002 unreachable | a statement after `return` or `fail` on every path
E060 let-none | `let x = none` leaves the type of x unknown
E061 let-empty-collection | `let x = []` or `{}` leaves the element type unknown
E062 redefined-local | a `let` or loop variable reuses a name already defined in the body
E063 shadows-state | a local would hide a state field, a const or a reserved name
E064 compound-assign-not-number | `+=` or `-=` with a value that is not a number
E065 float-into-int | `+=` of a float into an int place
E066 compound-assign-type | `+=`/`-=` on a place that is neither a number nor (for `+=`) a string
E067 list-with-two-variables | `for a, b in xs` over a list
E068 map-with-one-variable | `for x in m` over a map
E069 not-iterable | `for` over something that is neither a list nor a map
E070 return-without-type | `return value` in a body that declares no result type
E071 message-not-string | a `fail` or `or fail` message is not a string
E072 useless-expression | an expression statement that has no effect
E073 bad-update | an in-place update (append, remove, ...) that the collection does not have
E074 update-named-arguments | an in-place update given named arguments
E075 update-argument-count | an in-place update given the wrong number of arguments
places and effects
E080 not-assignable | an assignment target that is not a variable, state or a path from one
E081 whole-table-assignment | assignment to a whole state table instead of its rows
E082 unknown-assignment-target | assignment to a name that is neither a variable nor state
E084 write-derived | a write to a derived state path
E085 unknown-record-field | a record has no field of that name
E086 assign-union-tag | assignment to a union's tag field
E087 field-of-some-variants | a field that only some variants of a union have, used before narrowing
E088 field-of-no-variant | a field that no variant of a union has
E089 field-of-optional | a field read on a value that may be none
E090 no-fields | a field read on a value whose type has no fields
E091 constant-reads-state | a const or default reads or writes state
E092 effect-violation | a body reads or writes state, or calls a function, beyond its declared effect
expressions
E100 constant-reads-state-name | a const or default names a state field
E101 bare-fact | `fact` used without `.NAME`
E102 type-as-value | a type name used as a value
E103 function-as-value | a function name used without calling it
E104 tool-in-code | code names or calls a tool; tools are for agents
E105 unknown-name | a name that is not a local, parameter, state, const or `now`
E106 unknown-state | `state.NAME` names no state field
E107 unknown-fact | `fact.NAME` or a task's user fact names no declared fact
E108 unknown-enum-member | `Enum.NAME` names no member of the enum
E109 variant-without-fields | `Union.variant` used as a value without constructing it
E110 index-optional | indexing a value that may be none
E111 not-indexable | indexing a value that is not a list, map or string
E112 not-sliceable | slicing a value that is not a list or string
E113 bad-negation | unary minus on something that is not a number
E114 incomparable | `==` or `!=` between values that can never be equal
E115 unorderable | `<`, `<=`, `>` or `>=` between values with no order
E116 bad-operands | an arithmetic operator applied to values it does not take
E118 bad-membership | `in` a list with an element of another type
E119 bad-key-membership | `in` a map with a key of another type
E120 bad-substring | `in` a string with something that is not a string
E121 bad-container | `in` with something other than a list, map or string on the right
E122 is-on-non-union | `is` applied to a value that is not a union
E123 unknown-variant | `is` names no variant of the union
E124 bad-coalesce | `??` on a value that is neither a map lookup nor optional
E125 bad-or-fail | `or fail` on a value that is neither a lookup, an optional nor a condition
E127 iterate-map | a comprehension or quantifier over a map; iterate keys(m) or values(m)
E128 not-iterable-here | a comprehension or quantifier over something that is not a list
E129 sum-of-non-numbers | `sum` over values that are not numbers
calls
E141 union-called | a union name called without naming the variant
E142 unknown-function | a call of a name that is not a function, record or built-in
E143 unknown-constructor-variant | `Union.variant(...)` names no variant
E144 update-as-value | an in-place update used inside an expression
E145 unknown-method | a method call of a name that is not a built-in
E146 not-callable | a call of something that is not a name
E147 builtin-named-argument | a built-in function given a named argument
E148 builtin-type-error | a built-in function given arguments of the wrong types
E149 min-max-of-empty | `min` or `max` of an empty list
E150 positional-after-named | a positional argument after a named one
E151 too-many-arguments | more positional arguments than parameters
E152 unknown-parameter | a named argument that matches no parameter
E153 duplicate-argument | an argument given twice
E154 missing-argument | a required argument is missing
E155 unnamed-field | a record or variant constructed with a positional field
E156 unknown-field | a record or variant constructed with a field it does not have
E157 duplicate-field-value | a field given twice in a construction
E158 missing-field | a required field is missing from a construction
E159 object-without-tag | a `{...}` union object without its tag as a string
E160 unknown-tag | a `{...}` union object whose tag is not a variant tag
types
E170 condition-not-bool | a condition that is not bool
E172 type-mismatch | a value of one type where another is expected
E173 not-enum-member | a string literal that is not a member of the expected enum
E175 mixed-types | branches or elements of different types
tasks
E180 duplicate-task | two tasks have the same name
E181 unknown-task-text | a task text other than purpose, notes, ticket and policies
E182 duplicate-task-text | a task text is given twice
E183 unknown-user-text | a user text other than persona, reason, known, unknown, instructions, wants
E185 unknown-reward | a reward component the benchmark does not have
E186 reward-without-basis | a reward component that needs gold actions, goals or assertions the task lacks
E187 unknown-task-call | a task's call names no tool, setup or assertion of that actor
E188 task-argument-not-literal | a task's call argument is not a literal value
E189 unknown-compare | `compare` names something that is not a parameter of the call
E190 task-value-not-literal | a user `knows`, fact or expected value is not a literal
E191 contradictory-scenario | a user fact or known value is stated twice with different values
compiler and data
E200 unreadable-import | an imported file cannot be read
E201 no-such-file | the file to compile does not exist, or is a folder, a link to a missing file or a loop of links
E202 nested-too-deeply | the program nests deeper than the parser or checker can follow
E203 data-without-state | `--db` or `--user-db` given for a side that has no state
E204 no-data-setting | the domain declares state but no data file
E205 unreadable-data | a data file cannot be read
E206 invalid-json | a data file is not valid JSON
E207 data-not-object | a data file is not a JSON object
E208 missing-state-entry | a data file has no entry for a state field
E209 invalid-data | a data file's value does not match its declared type
E210 undeclared-state-entry | a data file has an entry that is not declared in state
E211 path-refused | an import or data path is absolute, leads outside the root folder, or names a file that may not be read
E212 hidden-character | an invisible, bidi or control character in the source
E213 literal-too-large | a string or number literal, or the string holes of one file, past the size limits
E214 number-not-finite | a float literal too large to be a finite number
E215 bad-words | the domain's words file (`words =`) cannot be read, is not valid TOML, does not fit its schema, or names tools, parameters or facts the domain lacks
analyses
E300 guard-conflict | a tool's guards can never hold together
N300 guard-not-analysed | a tool's guards are outside the Z3 encoding, or the solver could not settle them within its budget
E301 setup-fails | a task's setup fails
N301 gold-call-fails | a gold action fails when replayed
W301 gold-violates-guard | a gold action breaks an enforced guard
N302 guard-error | a guard raised an error on a gold action
E302 goal-unsatisfiable | a goal can never hold in any state the data model allows
N303 goal-not-analysed | a goal is outside the Z3 encoding, or the solver could not settle it within its budget
E303 goal-vacuous | a goal already holds in the task's initial state
E304 goal-fails-on-gold | a goal does not hold after the gold actions
N304 underspecification-not-analysed | which fields the goals pin could not be analysed
E305 goal-pins-nothing | the goals pin none of the changes the gold actions make
W304 goal-underspecified | the goals leave some changes of the gold actions unchecked
E306 assertion-fails-on-gold | an env assertion that counts towards the reward fails after the gold actions
W305 assertion-fails-on-gold-unscored | an env assertion that does not count towards the reward fails after the gold actions
W306 undetermined-choice | a gold write picks a value among several the agent reads (a card, a flight, an item) that the scenario does not single out by the domain's words
"""


def _parse(table: str) -> dict[str, Code]:
    out: dict[str, Code] = {}
    area = ""
    for line in table.strip().splitlines():
        if " | " not in line:
            area = line.strip()
            continue
        head, summary = line.split(" | ", 1)
        code, name = head.split()
        out[code] = Code(code, name, summary, area)
    return out


CODES: dict[str, Code] = _parse(_TABLE)

# Analysis findings (verify/analyses.py) by (kind, severity).
FINDINGS: dict[tuple[str, str], str] = {
    ("guard_conflict", "error"): "E300",
    ("guard_not_analysed", "info"): "N300",
    ("setup_fails", "error"): "E301",
    ("gold_call_fails", "info"): "N301",
    ("gold_violates_guard", "warning"): "W301",
    ("guard_error", "info"): "N302",
    ("goal_unsatisfiable", "error"): "E302",
    ("goal_not_analysed", "info"): "N303",
    ("goal_vacuous", "error"): "E303",
    ("goal_fails_on_gold", "error"): "E304",
    ("underspecification_not_analysed", "info"): "N304",
    ("goal_pins_nothing", "error"): "E305",
    ("goal_underspecified", "warning"): "W304",
    ("assertion_fails_on_gold", "error"): "E306",
    ("assertion_fails_on_gold", "warning"): "W305",
    ("undetermined_choice", "warning"): "W306",
}


def finding_code(kind: str, severity: str) -> str | None:
    """The code of an analysis finding, or None for a kind not registered yet."""
    return FINDINGS.get((kind, severity))
