"""Exports: visit logs, mileage reimbursement reports and drug screen summaries, as CSV and PDF."""
