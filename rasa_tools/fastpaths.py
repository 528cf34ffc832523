"""Hot spots of Rasa 3.6 fixed from the outside (issue 12), installed when Rasa imports
`rasa_tools` (the pipeline and policies live here), without editing the installed Rasa.

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every
  action-server response. `jsonschema.validate` first checks the schema itself against the
  meta-schema and builds a new validator each time: under load that was ~55% of the Rasa
  process's CPU. Here one validator is built and checked once; a valid response costs one
  `is_valid`, and an invalid one still goes through Rasa's own method, so the error (and its
  message) is exactly Rasa's.
"""
from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    rasa_validate = RemoteAction._validate_action_result

    def _validate_action_result(self, result):
        if validator.is_valid(result):
            return True
        return rasa_validate(self, result)     # raises Rasa's ValidationError

    _validate_action_result.__doc__ = rasa_validate.__doc__
    RemoteAction._validate_action_result = _validate_action_result
    _installed = True
