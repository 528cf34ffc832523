"""Dialogue policy that lets the action server pre-empt a turn (runs in the Rasa environment).

Every user message first reaches the action server's `action_validate_slot_mappings`, which
Rasa runs after each message whatever the dialogue state (in a form, in a rating, pending a
confirmation). That action (`actions/intercept.py`) decides whether the message must be
answered before anything else — a fire, a person in crisis, a threat, a language the
assistant does not speak, an emoji where a yes was asked — and says so in the `intercept` slot.

`InterceptPolicy` only reads that slot: right after a user message with `intercept` set it
predicts `action_intercept` with full confidence, above RulePolicy and above an active form's
happy path, so no rule, story or form can answer the message first. `action_intercept` clears
the slot; a rule then listens (or the active form asks its question again). It holds no model
and imports nothing from `bot`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

SLOT = "intercept"
ACTION = "action_intercept"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class InterceptPolicy(Policy):
    """Predict `action_intercept` when the action server flagged the latest message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "slot": SLOT, "action": ACTION}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        return self._resource       # nothing to learn

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None,
                                     **kwargs: Any) -> PolicyPrediction:
        slot, action = self.config.get("slot", SLOT), self.config.get("action", ACTION)
        flagged = (tracker.latest_action_name == ACTION_LISTEN_NAME
                   and slot in tracker.slots and tracker.get_slot(slot)
                   and action in domain.action_names_or_texts)
        if not flagged:
            return self._prediction(self._default_predictions(domain))
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        # A "no user" prediction, like an active form's happy path: it outranks predictions
        # from the intent, and our priority outranks the form's.
        return self._prediction(probabilities, is_no_user_prediction=True)
