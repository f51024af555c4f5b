# Two commands do all the set-up on a fresh machine with Python >= 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000


.PHONY: run test install install-dev migrate demo lint format messages mutation clean stripe-standin datatrans-standin paypal-standin

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=python3.11 or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo --base-url http://$(HOST):$(PORT)

## Install, migrate, load the demo shop and serve it on http://$(HOST):$(PORT)/ (DEBUG on, SQLite, e-mails in var/mail/).
run: export DEBUG ?= 1
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

## A local stand-in of Stripe's API and payment page (tests/stripe_standin.py) for trying online payments without a
## Stripe account; it prints the variables to serve the shop with (`make run` in another terminal).
stripe-standin: install-dev
	$(PY) -m tests.stripe_standin --shop http://$(HOST):$(PORT)

## The same for Datatrans (its API and payment page: cards, TWINT, PostFinance) and for PayPal (its API, approval
## page and signed webhooks).
datatrans-standin: install-dev
	$(PY) -m tests.datatrans_standin --shop http://$(HOST):$(PORT)

paypal-standin: install-dev
	$(PY) -m tests.paypal_standin --shop http://$(HOST):$(PORT)

## The whole test suite: SQLite by default; PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set.
test: install-dev
	$(VENV)/bin/pytest

## ruff, and the import contracts (pyproject.toml [tool.importlinter]): dependencies run one way, no cycles.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

## Mutation score of the order rules (orders/status.py), the stock (orders/stock.py), the refund and cancel
## workflows and the webhook pipeline, on SQLite; about 20 minutes on 2 cores. Reported, not gated:
## `.venv/bin/mutmut results` lists survivors.
MUTANTS = orders.status.* orders.stock.* orders.services.x_cancel_order__* orders.services.x_refund_order__* \
	orders.services.x_delete_test_order__* payments.services.x_refund__* payments.services.x_refund_all__* \
	payments.services.x_paid_amount__* payments.services.x__refundable__* payments.services.x_confirm_payment__* \
	payments.services.x_apply_state__* payments.services.x__reserve__* payments.services.x__settle__* \
	payments.services.x__refunded__* payments.services.x_record_provider_refunds__* \
	payments.tasks.x_apply_webhook_event__* payments.tasks.x_reconcile_payment__* \
	shop.cart.ordered.* shop.cart.recovery.x_send_due_reminders__* shop.cart.recovery.x__send_batch__* \
	shop.cart.recovery.x__automatic_targets__* shop.cart.recovery.x_send_reminder__* shop.cart.recovery.x_restore_cart__*
mutation: install-dev
	rm -rf mutants
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/mutmut run --max-children 2 $(foreach m,$(MUTANTS),"$(m)")
	$(VENV)/bin/mutmut results

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Refresh the French and German catalogues after changing user-facing text (needs GNU gettext).
messages: install
	$(PY) manage.py makemessages -l fr -l de --ignore=.venv --ignore=var --ignore=bench --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
