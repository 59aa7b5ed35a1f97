"""The typed IR: the single source of truth that every backend and the runtime read.

`nodes.py` holds the node classes, `kinds.py` the closed vocabularies (operators, modes,
kinds) as string enums, `json_form.py` the JSON form (`ir.json` in a compiled folder), which
is read from the node classes' annotations, and `dispatch.py` the tables that passes over the
IR build, complete or refused. The IR round-trips through its JSON form exactly, so the
runtime never needs the source.
"""

from .kinds import (
    UnaryOperator, BinaryOperator, AssignOperator, MutateMethod, Quantifier, Iteration, Unwrap, StepKind,
    PlaceRoot, Side, Effect, FunctionKind, CallKind, RewardComponent, Outcome, ARITHMETIC, COMPARISONS, ENUMS,
)
from .nodes import (
    Expr, Const, Local, StateRoot, Fact, GetField, GetIndex, GetSlice, CallBuiltin, CallFn, Construct,
    ListExpr, MapExpr, UnaryOp, BinaryOp, IsVariant, IfExpr, Coalesce, OrFail, Comprehension, Quantified,
    ToFloat, Format, Step, Place, Stmt, Let, Assign, Mutate, If, For, Return, Fail, Eval, FieldDef, EnumDef,
    HasFields, Typed, RecordDef, VariantDef, UnionDef, StateField, ParamDef, Function, GuardDef, PolicyDef,
    DeriveDef, ConstDef, CallSpec, UserScenario, TaskDef, Domain, constant_value, walk_exprs, JSON_PAYLOAD,
    Json, NOT_CONSTANT,
)
from .json_form import CLASSES, FORMS, domain_from_json, to_json
from .dispatch import handlers, node_classes
