// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICollateralManager} from "./interfaces/ICollateralManager.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title CollateralManager
/// @notice Car-collateral loans and their liens, the reports that feed them, the rules that open disposal cases
/// inside the reporting transaction, and the disposal workflow (repossession, appraisal, auction, settlement).
/// The rules, states and deadlines are documented in `ICollateralManager`.
/// @dev Governance is the Membership contract itself (a passed proposal calls from there). Every case move goes
/// through `_transition`, which checks the current state against a mask of the states the move allows and emits
/// `CaseStateChanged`; no report or step moves a case more than once per transaction.
///
/// Storage: a loan takes six slots (subject; principal and outstanding; baseline and last value; bank, lien
/// status, registration time, days overdue and last valuation time; terms; case id), five written at registration.
/// A case takes three (loan id; state, frozen state, escalation flag, causes, agency, times; appraisal and sale
/// price). A loan's valuation observations take one slot each, up to `MAX_VALUATION_REPORTERS`, filled in order.
contract CollateralManager is ICollateralManager {
    // ---------------------------------------------------------------- types

    /// @dev One price oracle member's latest valuation of a loan's vehicle, in one slot (64 + 128 + 40 bits).
    /// `reporterMemberId` 0 marks a free slot (member ids start at 1).
    struct Observation {
        uint64 reporterMemberId;
        uint128 value;
        uint40 reportedAt;
    }

    // ---------------------------------------------------------------- storage

    /// @inheritdoc ICollateralManager
    uint8 public constant MAX_VALUATION_REPORTERS = 15;

    uint256 private constant _BPS = 10_000;
    uint16 private constant _MAX_SCORE = 10_000;

    /// @dev Initial parameters; governance changes them with `setParameters`.
    uint16 private constant _DEFAULT_VALUE_MOVE_BPS = 800;
    uint16 private constant _DEFAULT_RISK_WATCH_SCORE = 4000;
    uint32 private constant _DEFAULT_MIN_CURE_PERIOD = 3 days;
    uint32 private constant _DEFAULT_MIN_STEP_DEADLINE = 1 days;
    /// @dev Initial valuation policy; governance changes it with `setValuationPolicy`.
    uint8 private constant _DEFAULT_VALUATION_QUORUM = 1;
    uint32 private constant _DEFAULT_VALUATION_MAX_AGE = 7 days;

    // forge-lint: disable-start(incorrect-shift)
    /// @dev Causes that put a case in `Triggered`; every other cause is a warning (`Watch`).
    uint16 private constant _BREACH_CAUSES = uint16(
        (1 << uint8(Cause.OverdueBreach)) | (1 << uint8(Cause.ValueDrop)) | (1 << uint8(Cause.LoanToValue))
            | (1 << uint8(Cause.TelematicsBreach)) | (1 << uint8(Cause.DmvSeizure))
            | (1 << uint8(Cause.DmvTransferAttempt)) | (1 << uint8(Cause.DmvScrapping))
    );
    /// @dev The only breach a payment can cure.
    uint16 private constant _CURABLE_CAUSES = uint16(1 << uint8(Cause.OverdueBreach));

    uint256 private constant _NONE = 1 << uint8(CaseState.None);
    uint256 private constant _WATCH = 1 << uint8(CaseState.Watch);
    uint256 private constant _TRIGGERED = 1 << uint8(CaseState.Triggered);
    uint256 private constant _REPOSSESSION_ORDERED = 1 << uint8(CaseState.RepossessionOrdered);
    uint256 private constant _REPOSSESSED = 1 << uint8(CaseState.Repossessed);
    uint256 private constant _APPRAISED = 1 << uint8(CaseState.Appraised);
    uint256 private constant _AUCTIONED = 1 << uint8(CaseState.Auctioned);
    uint256 private constant _FROZEN = 1 << uint8(CaseState.Frozen);
    /// @dev States in which the assigned agency owes a step by the case's deadline.
    uint256 private constant _AGENCY_STEPS = _REPOSSESSION_ORDERED | _REPOSSESSED | _APPRAISED | _AUCTIONED;
    /// @dev States a dispute may freeze.
    uint256 private constant _FREEZABLE = _TRIGGERED | _AGENCY_STEPS;
    // forge-lint: disable-end(incorrect-shift)

    IMembership private immutable _membership;

    Parameters private _parameters;
    ValuationPolicy private _valuationPolicy;
    uint256 private _loanCount;
    uint256 private _caseCount;

    mapping(uint256 loanId => Loan) private _loans;
    mapping(bytes32 subject => uint256 loanId) private _activeLoanOf;
    mapping(uint256 caseId => Case) private _cases;
    // slither-disable-next-line uninitialized-state
    mapping(uint256 loanId => Observation[MAX_VALUATION_REPORTERS]) private _observations;

    // ---------------------------------------------------------------- constructor

    /// @param membership_ The Membership contract: who may act, and the governance of this contract.
    /// @dev Starts with a default value-move threshold of 800 bps, a risk watch score of 4 000, a minimum cure
    /// period of 3 days, a minimum step deadline of 1 day, nobody allowed to report risk warnings, and a valuation
    /// quorum of 1 with a maximum age of 7 days (every report is its own median).
    constructor(IMembership membership_) {
        if (address(membership_) == address(0)) revert CollateralInvalidMembership();
        _membership = membership_;
        _setParameters(
            Parameters({
                defaultValueMoveBps: _DEFAULT_VALUE_MOVE_BPS,
                riskWatchScore: _DEFAULT_RISK_WATCH_SCORE,
                minCurePeriod: _DEFAULT_MIN_CURE_PERIOD,
                minStepDeadline: _DEFAULT_MIN_STEP_DEADLINE,
                riskReporterRoles: 0
            })
        );
        _setValuationPolicy(ValuationPolicy({quorum: _DEFAULT_VALUATION_QUORUM, maxAge: _DEFAULT_VALUATION_MAX_AGE}));
    }

    // ---------------------------------------------------------------- external: governance

    /// @inheritdoc ICollateralManager
    function setParameters(Parameters calldata parameters_) external {
        _onlyGovernance();
        _setParameters(parameters_);
    }

    /// @inheritdoc ICollateralManager
    function setValuationPolicy(ValuationPolicy calldata newPolicy) external {
        _onlyGovernance();
        _setValuationPolicy(newPolicy);
    }

    /// @inheritdoc ICollateralManager
    function resolveFreeze(uint256 caseId, bool restore, bytes32 evidenceDigest) external {
        _onlyGovernance();
        Case storage c = _existingCase(caseId);
        _requireEvidence(evidenceDigest);
        // `frozenFrom` is meaningful only in `Frozen`; in any other state `_transition` reverts first.
        CaseState to = restore ? c.frozenFrom : CaseState.None;
        _transition(caseId, _FROZEN, to, evidenceDigest);
        if (restore) c.deadline += uint40(block.timestamp) - c.frozenAt;
        c.frozenFrom = CaseState.None;
        c.frozenAt = 0;
        emit FreezeResolved(caseId, restore, c.deadline);
    }

    // ---------------------------------------------------------------- external: loans and liens

    /// @inheritdoc ICollateralManager
    function registerLoan(
        bytes32 subject,
        uint128 principal,
        uint128 outstanding,
        uint128 baselineValue,
        LoanTerms calldata terms,
        bytes32 evidenceDigest
    ) external returns (uint256 loanId) {
        uint64 bankMemberId = _authorize(Roles.BANK);
        _requireEvidence(evidenceDigest);
        if (subject == bytes32(0)) revert CollateralInvalidSubject(subject);
        uint256 existing = _activeLoanOf[subject];
        if (existing != 0) revert CollateralLienExists(subject, existing);
        _checkTerms(terms);
        if (
            principal == 0 || baselineValue == 0 || outstanding > principal
                || _ltvExceeded(outstanding, baselineValue, terms.maxLtvBps)
        ) revert CollateralInvalidAmounts(principal, outstanding, baselineValue);

        loanId = ++_loanCount;
        Loan storage loan = _loans[loanId];
        loan.subject = subject;
        loan.principal = principal;
        loan.outstanding = outstanding;
        loan.baselineValue = baselineValue;
        loan.lastValue = baselineValue;
        loan.bankMemberId = bankMemberId;
        loan.lienStatus = LienStatus.Pending;
        loan.registeredAt = uint40(block.timestamp);
        loan.terms = terms;
        _activeLoanOf[subject] = loanId;
        emit LoanRegistered(loanId, subject, bankMemberId, principal, outstanding, baselineValue, terms, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function confirmLien(uint256 loanId, bytes32 evidenceDigest) external {
        _authorize(Roles.DMV_ORACLE);
        Loan storage loan = _existingLoan(loanId);
        _requireEvidence(evidenceDigest);
        _setLien(loanId, loan, LienStatus.Pending, LienStatus.Active, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function cancelLoan(uint256 loanId, bytes32 evidenceDigest) external {
        Loan storage loan = _existingLoan(loanId);
        _requireLoanBank(loanId, loan);
        _requireEvidence(evidenceDigest);
        _setLien(loanId, loan, LienStatus.Pending, LienStatus.Released, evidenceDigest);
    }

    // ---------------------------------------------------------------- external: reports

    /// @inheritdoc ICollateralManager
    function reportRepayment(uint256 loanId, uint16 daysOverdue, uint128 outstanding, bytes32 evidenceDigest) external {
        Loan storage loan = _existingLoan(loanId);
        uint64 reporter = _requireLoanBank(loanId, loan);
        _requireEvidence(evidenceDigest);
        _requireActiveLien(loanId, loan);

        loan.daysOverdue = daysOverdue;
        loan.outstanding = outstanding;
        emit RepaymentReported(loanId, loan.subject, reporter, daysOverdue, outstanding, evidenceDigest);

        LoanTerms memory terms = loan.terms;
        uint16 causes = 0;
        if (daysOverdue > terms.maxOverdueDays) causes = _bit(Cause.OverdueBreach);
        else if (daysOverdue > terms.watchOverdueDays) causes = _bit(Cause.OverdueWatch);
        if (_ltvExceeded(outstanding, loan.lastValue, terms.maxLtvBps)) causes |= _bit(Cause.LoanToValue);

        if (causes != 0) _applyRules(loanId, loan, causes, evidenceDigest);
        else if (daysOverdue == 0) _tryCure(loan.caseId, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function reportValuation(bytes32 subject, uint128 value, bytes32 evidenceDigest) external {
        uint64 reporter = _authorize(Roles.PRICE_ORACLE);
        _requireEvidence(evidenceDigest);
        (uint256 loanId, Loan storage loan) = _activeLoan(subject);

        ValuationPolicy memory policy = _valuationPolicy;
        (uint256[] memory fresh, uint256 count) = _recordObservation(loanId, reporter, value, policy.maxAge);
        emit ValuationReported(loanId, subject, reporter, value, evidenceDigest);
        if (count < policy.quorum) return;

        uint128 median = _median(fresh, count);
        loan.lastValue = median;
        loan.lastValuedAt = uint40(block.timestamp);
        // `count` <= MAX_VALUATION_REPORTERS (15): the cast cannot truncate.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit ValuationAggregated(loanId, subject, median, uint8(count), evidenceDigest);
        _applyValuationRules(loanId, loan, median, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function reportTelematicsAlert(bytes32 subject, uint16 alertKind, Severity severity, bytes32 evidenceDigest)
        external
    {
        uint64 reporter = _authorize(Roles.TELEMATICS_ORACLE);
        _requireEvidence(evidenceDigest);
        (uint256 loanId, Loan storage loan) = _activeLoan(subject);

        emit TelematicsAlertReported(loanId, subject, reporter, alertKind, severity, evidenceDigest);

        if (severity == Severity.Medium) {
            _applyRules(loanId, loan, _bit(Cause.TelematicsWatch), evidenceDigest);
        } else if (severity != Severity.Low) {
            _applyRules(loanId, loan, _bit(Cause.TelematicsBreach), evidenceDigest);
        }
    }

    /// @inheritdoc ICollateralManager
    function reportDmvEvent(bytes32 subject, DmvEventKind eventKind, bytes32 evidenceDigest) external {
        uint64 reporter = _authorize(Roles.DMV_ORACLE);
        _requireEvidence(evidenceDigest);
        (uint256 loanId, Loan storage loan) = _activeLoan(subject);

        if (eventKind == DmvEventKind.LienReleased) {
            uint256 caseId = loan.caseId;
            CaseState current = _cases[caseId].state; // None for caseId 0
            if (current != CaseState.None && current != CaseState.Watch && current != CaseState.Cured) {
                revert CollateralCaseInProgress(loanId, caseId);
            }
            emit DmvEventReported(loanId, subject, reporter, eventKind, evidenceDigest);
            if (current == CaseState.Watch) _transition(caseId, _WATCH, CaseState.None, evidenceDigest);
            _setLien(loanId, loan, LienStatus.Active, LienStatus.Released, evidenceDigest);
            return;
        }

        emit DmvEventReported(loanId, subject, reporter, eventKind, evidenceDigest);
        Cause cause = eventKind == DmvEventKind.Seizure
            ? Cause.DmvSeizure
            : eventKind == DmvEventKind.TransferAttempt ? Cause.DmvTransferAttempt : Cause.DmvScrapping;
        _applyRules(loanId, loan, _bit(cause), evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function reportRiskWarning(bytes32 subject, uint16 score, bytes32 evidenceDigest) external {
        uint64 reporter = _authorize(_parameters.riskReporterRoles);
        _requireEvidence(evidenceDigest);
        if (score > _MAX_SCORE) revert CollateralInvalidScore(score);
        (uint256 loanId, Loan storage loan) = _activeLoan(subject);

        emit RiskWarningReported(loanId, subject, reporter, score, evidenceDigest);

        if (score < _parameters.riskWatchScore) _applyRules(loanId, loan, _bit(Cause.RiskWarning), evidenceDigest);
    }

    // ---------------------------------------------------------------- external: disposal cases

    /// @inheritdoc ICollateralManager
    function clearWatch(uint256 caseId, bytes32 evidenceDigest) external {
        Case storage c = _existingCase(caseId);
        _requireLoanBank(c.loanId, _loans[c.loanId]);
        _requireEvidence(evidenceDigest);
        _transition(caseId, _WATCH, CaseState.None, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function orderRepossession(uint256 caseId, uint64 agencyMemberId, bytes32 evidenceDigest) external {
        Case storage c = _existingCase(caseId);
        Loan storage loan = _loans[c.loanId];
        _requireLoanBank(c.loanId, loan);
        _requireEvidence(evidenceDigest);
        // In any other state `_transition` refuses the move below.
        // Deadlines are days long: a validator's few seconds of clock skew cannot matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (c.state == CaseState.Triggered && block.timestamp <= c.deadline) {
            revert DisposalCurePeriodRunning(caseId, c.deadline);
        }
        _checkAgency(agencyMemberId);

        _transition(caseId, _TRIGGERED, CaseState.RepossessionOrdered, evidenceDigest);
        _assignAgency(caseId, c, agencyMemberId, loan.terms.stepDeadline, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function recordRepossession(uint256 caseId, bytes32 evidenceDigest) external {
        _agencyStep(caseId, _REPOSSESSION_ORDERED, CaseState.Repossessed, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function recordAppraisal(uint256 caseId, uint128 appraisedValue, bytes32 evidenceDigest) external {
        Case storage c = _agencyStep(caseId, _REPOSSESSED, CaseState.Appraised, evidenceDigest);
        c.appraisedValue = appraisedValue;
        emit AppraisalRecorded(caseId, appraisedValue);
    }

    /// @inheritdoc ICollateralManager
    function recordAuction(uint256 caseId, uint128 salePrice, bytes32 evidenceDigest) external {
        Case storage c = _agencyStep(caseId, _APPRAISED, CaseState.Auctioned, evidenceDigest);
        c.salePrice = salePrice;
        emit AuctionRecorded(caseId, salePrice);
    }

    /// @inheritdoc ICollateralManager
    function recordSettlement(uint256 caseId, bytes32 evidenceDigest) external {
        Case storage c = _agencyStep(caseId, _AUCTIONED, CaseState.Settled, evidenceDigest);
        uint256 loanId = c.loanId;
        _setLien(loanId, _loans[loanId], LienStatus.Active, LienStatus.Released, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function escalate(uint256 caseId) external {
        Case storage c = _existingCase(caseId);
        CaseState current = _checkState(caseId, c, _AGENCY_STEPS);
        uint40 deadline = c.deadline;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= deadline) revert DisposalDeadlineNotPassed(caseId, deadline);
        if (c.escalated) revert DisposalAlreadyEscalated(caseId);
        c.escalated = true;
        emit CaseEscalated(caseId, c.agencyMemberId, current, deadline, msg.sender);
    }

    /// @inheritdoc ICollateralManager
    function reassignAgency(uint256 caseId, uint64 agencyMemberId, bytes32 evidenceDigest) external {
        Case storage c = _existingCase(caseId);
        Loan storage loan = _loans[c.loanId];
        _requireLoanBank(c.loanId, loan);
        _requireEvidence(evidenceDigest);
        _checkState(caseId, c, _AGENCY_STEPS);
        if (!c.escalated) revert DisposalNotEscalated(caseId);
        _checkAgency(agencyMemberId);
        _assignAgency(caseId, c, agencyMemberId, loan.terms.stepDeadline, evidenceDigest);
    }

    /// @inheritdoc ICollateralManager
    function freezeCase(uint256 caseId, bytes32 evidenceDigest) external {
        Case storage c = _existingCase(caseId);
        (uint64 memberId, uint256 roles) = _membership.authorize(msg.sender);
        // An id comparison, not a balance: strict equality is the point (see contracts/SLITHER.md).
        // slither-disable-next-line incorrect-equality,timestamp
        bool isBank = roles & Roles.BANK != 0 && memberId == _loans[c.loanId].bankMemberId;
        bool isAgency = roles & Roles.DISPOSAL_AGENCY != 0 && memberId == c.agencyMemberId;
        if (!isBank && !isAgency) {
            uint256 parties = Roles.BANK | Roles.DISPOSAL_AGENCY;
            if (roles & parties == 0) revert CollateralUnauthorizedAccount(msg.sender, parties);
            revert CollateralNotCaseParty(caseId, msg.sender);
        }
        _requireEvidence(evidenceDigest);

        CaseState from = _transition(caseId, _FREEZABLE, CaseState.Frozen, evidenceDigest);
        c.frozenFrom = from;
        c.frozenAt = uint40(block.timestamp);
    }

    // ---------------------------------------------------------------- external: views

    /// @inheritdoc ICollateralManager
    function membership() external view returns (address) {
        return address(_membership);
    }

    /// @inheritdoc ICollateralManager
    function parameters() external view returns (Parameters memory) {
        return _parameters;
    }

    /// @inheritdoc ICollateralManager
    function valuationPolicy() external view returns (ValuationPolicy memory) {
        return _valuationPolicy;
    }

    /// @inheritdoc ICollateralManager
    function valuationOf(bytes32 subject) external view returns (uint128 value, uint40 updatedAt) {
        uint256 loanId = _activeLoanOf[subject];
        if (loanId == 0) revert CollateralNoActiveLoan(subject);
        Loan storage loan = _loans[loanId];
        updatedAt = loan.lastValuedAt;
        // Ages are days long: a validator's few seconds of clock skew cannot matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (updatedAt == 0 || block.timestamp > uint256(updatedAt) + _valuationPolicy.maxAge) {
            revert CollateralStaleValuation(subject, updatedAt);
        }
        value = loan.lastValue;
    }

    /// @inheritdoc ICollateralManager
    function getLoan(uint256 loanId) external view returns (Loan memory) {
        return _existingLoan(loanId);
    }

    /// @inheritdoc ICollateralManager
    function activeLoanOf(bytes32 subject) external view returns (uint256) {
        return _activeLoanOf[subject];
    }

    /// @inheritdoc ICollateralManager
    function valueMoveBpsOf(uint256 loanId) external view returns (uint16) {
        return _valueMoveBps(_existingLoan(loanId).terms.valueMoveBps);
    }

    /// @inheritdoc ICollateralManager
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }

    /// @inheritdoc ICollateralManager
    function getCase(uint256 caseId) external view returns (Case memory) {
        return _existingCase(caseId);
    }

    /// @inheritdoc ICollateralManager
    function state(uint256 caseId) external view returns (CaseState) {
        return _existingCase(caseId).state;
    }

    /// @inheritdoc ICollateralManager
    function caseCount() external view returns (uint256) {
        return _caseCount;
    }

    // ---------------------------------------------------------------- internal: valuations

    /// @dev Stores `reporter`'s observation for the loan: in its own slot when it has one (replacing its older
    /// report), else in the first free slot, else (all `MAX_VALUATION_REPORTERS` slots held by other members) in place
    /// of the stalest one. Returns the values of the loan's fresh observations, this one included, in
    /// `values[0 .. count)`. Slots fill in order and are never emptied, so the first free slot ends the scan.
    function _recordObservation(uint256 loanId, uint64 reporter, uint128 value, uint32 maxAge)
        private
        returns (uint256[] memory values, uint256 count)
    {
        Observation[MAX_VALUATION_REPORTERS] storage observations = _observations[loanId];
        values = new uint256[](MAX_VALUATION_REPORTERS);
        uint256 slot = MAX_VALUATION_REPORTERS; // where this report goes: none found yet
        uint256 stalest = 0; // the oldest other member's slot, and its place in `values` if it is fresh
        uint256 stalestAt = type(uint256).max;
        uint256 stalestValueIndex = type(uint256).max;
        uint256 i = 0;
        for (; i < MAX_VALUATION_REPORTERS; ++i) {
            Observation memory o = observations[i];
            if (o.reporterMemberId == 0) break;
            if (o.reporterMemberId == reporter) {
                slot = i;
                continue;
            }
            // forge-lint: disable-next-line(block-timestamp)
            bool fresh = uint256(o.reportedAt) + maxAge >= block.timestamp;
            if (o.reportedAt < stalestAt) {
                (stalest, stalestAt) = (i, o.reportedAt);
                stalestValueIndex = fresh ? count : type(uint256).max;
            }
            if (fresh) values[count++] = o.value;
        }
        if (slot == MAX_VALUATION_REPORTERS) {
            if (i < MAX_VALUATION_REPORTERS) {
                slot = i;
            } else {
                slot = stalest;
                // The replaced observation no longer counts: move the last fresh value into its place.
                if (stalestValueIndex != type(uint256).max) values[stalestValueIndex] = values[--count];
            }
        }
        observations[slot] =
            Observation({reporterMemberId: reporter, value: value, reportedAt: uint40(block.timestamp)});
        values[count++] = value;
    }

    /// @dev The median of `values[0 .. count)` (count >= 1), sorting them in place (insertion sort: at most 15). With
    /// an even count, the mean of the two middle values rounded down (their sum fits: each is a uint128).
    function _median(uint256[] memory values, uint256 count) private pure returns (uint128) {
        for (uint256 i = 1; i < count; ++i) {
            uint256 v = values[i];
            uint256 j = i;
            for (; j > 0 && values[j - 1] > v; --j) {
                values[j] = values[j - 1];
            }
            values[j] = v;
        }
        uint256 mid = count / 2;
        uint256 median = count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        // Every value is a uint128, and so is any mean of two of them.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint128(median);
    }

    /// @dev The value-move and loan-to-value rules, judged on a published (aggregated) value.
    function _applyValuationRules(uint256 loanId, Loan storage loan, uint128 value, bytes32 evidenceDigest) private {
        LoanTerms memory terms = loan.terms;
        uint256 baseline = loan.baselineValue;
        uint256 threshold = baseline * _valueMoveBps(terms.valueMoveBps);
        uint16 causes = 0;
        if (value < baseline) {
            if ((baseline - value) * _BPS > threshold) causes = _bit(Cause.ValueDrop);
        } else if ((value - baseline) * _BPS > threshold) {
            causes = _bit(Cause.ValueRise);
        }
        if (_ltvExceeded(loan.outstanding, value, terms.maxLtvBps)) causes |= _bit(Cause.LoanToValue);

        if (causes != 0) _applyRules(loanId, loan, causes, evidenceDigest);
    }

    // ---------------------------------------------------------------- internal: rules and cases

    /// @dev Records `causes` on the loan's case and moves it: a loan without a live case (none yet, or its latest
    /// closed or cured) gets a new case, in `Triggered` if any cause is a breach and in `Watch` otherwise; a `Watch`
    /// case escalates to `Triggered` on a breach; a case further along only records the causes.
    function _applyRules(uint256 loanId, Loan storage loan, uint16 causes, bytes32 evidenceDigest) private {
        uint256 caseId = loan.caseId;
        Case storage c = _cases[caseId];
        CaseState current = c.state; // None for caseId 0
        bool breach = causes & _BREACH_CAUSES != 0;

        if (current == CaseState.None || current == CaseState.Cured) {
            caseId = ++_caseCount;
            c = _cases[caseId];
            c.loanId = loanId;
            c.causes = causes;
            loan.caseId = caseId;
            emit CaseOpened(caseId, loanId);
            emit RulesFired(loanId, caseId, causes);
            if (breach) _trigger(caseId, c, _NONE, loan.terms.curePeriod, evidenceDigest);
            else _transition(caseId, _NONE, CaseState.Watch, evidenceDigest);
        } else {
            c.causes |= causes;
            emit RulesFired(loanId, caseId, causes);
            if (breach && current == CaseState.Watch) {
                _trigger(caseId, c, _WATCH, loan.terms.curePeriod, evidenceDigest);
            }
        }
    }

    /// @dev Moves a case to `Triggered` and starts its cure period.
    function _trigger(uint256 caseId, Case storage c, uint256 allowedFrom, uint32 curePeriod, bytes32 evidenceDigest)
        private
    {
        _transition(caseId, allowedFrom, CaseState.Triggered, evidenceDigest);
        uint40 nowTs = uint40(block.timestamp);
        c.triggeredAt = nowTs;
        c.deadline = nowTs + curePeriod;
    }

    /// @dev Cures the loan's case if it is `Triggered`, its only breach is overdue, and the cure period runs.
    function _tryCure(uint256 caseId, bytes32 evidenceDigest) private {
        Case storage c = _cases[caseId];
        if (c.state != CaseState.Triggered || c.causes & _BREACH_CAUSES != _CURABLE_CAUSES) return;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= c.deadline) _transition(caseId, _TRIGGERED, CaseState.Cured, evidenceDigest);
    }

    /// @dev One agency step: only the assigned agency, from the step's state; starts the next step's deadline.
    function _agencyStep(uint256 caseId, uint256 allowedFrom, CaseState to, bytes32 evidenceDigest)
        private
        returns (Case storage c)
    {
        c = _existingCase(caseId);
        (uint64 memberId, uint256 roles) = _membership.authorize(msg.sender);
        if (roles & Roles.DISPOSAL_AGENCY == 0) {
            revert CollateralUnauthorizedAccount(msg.sender, Roles.DISPOSAL_AGENCY);
        }
        if (memberId != c.agencyMemberId) revert DisposalNotAssignedAgency(caseId, msg.sender);
        _requireEvidence(evidenceDigest);

        _transition(caseId, allowedFrom, to, evidenceDigest);
        c.deadline = to == CaseState.Settled ? 0 : uint40(block.timestamp) + _loans[c.loanId].terms.stepDeadline;
        c.escalated = false;
    }

    function _assignAgency(
        uint256 caseId,
        Case storage c,
        uint64 agencyMemberId,
        uint32 stepDeadline,
        bytes32 evidenceDigest
    ) private {
        uint40 deadline = uint40(block.timestamp) + stepDeadline;
        c.agencyMemberId = agencyMemberId;
        c.deadline = deadline;
        c.escalated = false;
        emit AgencyAssigned(caseId, agencyMemberId, deadline, evidenceDigest);
    }

    /// @dev The one place a case changes state: refuses unless the current state is in `allowedFrom`.
    function _transition(uint256 caseId, uint256 allowedFrom, CaseState to, bytes32 evidenceDigest)
        private
        returns (CaseState from)
    {
        Case storage c = _cases[caseId];
        from = _checkState(caseId, c, allowedFrom);
        c.state = to;
        emit CaseStateChanged(caseId, from, to, evidenceDigest);
    }

    function _checkState(uint256 caseId, Case storage c, uint256 allowed) private view returns (CaseState current) {
        current = c.state;
        // forge-lint: disable-next-line(incorrect-shift)
        if ((1 << uint8(current)) & allowed == 0) {
            revert CollateralUnexpectedCaseState(caseId, current, bytes32(allowed));
        }
    }

    function _setLien(uint256 loanId, Loan storage loan, LienStatus expected, LienStatus to, bytes32 evidenceDigest)
        private
    {
        LienStatus current = loan.lienStatus;
        if (current != expected) revert CollateralUnexpectedLienStatus(loanId, current, _lienBit(expected));
        loan.lienStatus = to;
        bytes32 subject = loan.subject;
        if (to == LienStatus.Released) delete _activeLoanOf[subject];
        emit LienStatusChanged(loanId, subject, current, to, evidenceDigest);
    }

    function _setParameters(Parameters memory parameters_) private {
        if (
            parameters_.defaultValueMoveBps == 0 || parameters_.defaultValueMoveBps > _BPS
                || parameters_.riskWatchScore > _MAX_SCORE || parameters_.minStepDeadline == 0
                || parameters_.riskReporterRoles & ~Roles.ALL != 0
        ) revert CollateralInvalidParameters(parameters_);
        _parameters = parameters_;
        emit ParametersChanged(parameters_);
    }

    function _setValuationPolicy(ValuationPolicy memory policy) private {
        if (policy.quorum == 0 || policy.quorum > MAX_VALUATION_REPORTERS || policy.maxAge == 0) {
            revert CollateralInvalidValuationPolicy(policy);
        }
        _valuationPolicy = policy;
        emit ValuationPolicyChanged(policy);
    }

    // ---------------------------------------------------------------- internal: checks

    function _onlyGovernance() private view {
        if (msg.sender != address(_membership)) revert CollateralOnlyGovernance(msg.sender);
    }

    /// @dev The caller's member id, if it is active and holds one of `required` (none when `required` is 0).
    function _authorize(uint256 required) private view returns (uint64 memberId) {
        uint256 roles;
        (memberId, roles) = _membership.authorize(msg.sender);
        if (roles & required == 0) revert CollateralUnauthorizedAccount(msg.sender, required);
    }

    function _requireLoanBank(uint256 loanId, Loan storage loan) private view returns (uint64 memberId) {
        memberId = _authorize(Roles.BANK);
        if (memberId != loan.bankMemberId) revert CollateralNotLoanBank(loanId, msg.sender);
    }

    /// @dev The agency must be an active DISPOSAL_AGENCY member when it is assigned.
    function _checkAgency(uint64 agencyMemberId) private view {
        if (agencyMemberId == 0 || agencyMemberId > _membership.memberCount()) {
            revert DisposalInvalidAgency(agencyMemberId);
        }
        IMembership.Member memory member = _membership.getMember(agencyMemberId);
        if (member.status != IMembership.MemberStatus.Active || member.roles & Roles.DISPOSAL_AGENCY == 0) {
            revert DisposalInvalidAgency(agencyMemberId);
        }
    }

    function _checkTerms(LoanTerms calldata terms) private view {
        if (
            terms.maxOverdueDays <= terms.watchOverdueDays || terms.maxLtvBps == 0 || terms.maxLtvBps > _BPS
                || terms.valueMoveBps > _BPS || terms.curePeriod < _parameters.minCurePeriod
                || terms.stepDeadline < _parameters.minStepDeadline
        ) revert CollateralInvalidTerms(terms);
    }

    function _requireEvidence(bytes32 evidenceDigest) private pure {
        if (evidenceDigest == bytes32(0)) revert CollateralMissingEvidence();
    }

    function _requireActiveLien(uint256 loanId, Loan storage loan) private view {
        LienStatus current = loan.lienStatus;
        if (current != LienStatus.Active) {
            revert CollateralUnexpectedLienStatus(loanId, current, _lienBit(LienStatus.Active));
        }
    }

    function _existingLoan(uint256 loanId) private view returns (Loan storage loan) {
        loan = _loans[loanId];
        if (loan.lienStatus == LienStatus.None) revert CollateralUnknownLoan(loanId);
    }

    /// @dev The loan holding the subject's lien, which must be `Active` for a report to apply.
    function _activeLoan(bytes32 subject) private view returns (uint256 loanId, Loan storage loan) {
        loanId = _activeLoanOf[subject];
        if (loanId == 0) revert CollateralNoActiveLoan(subject);
        loan = _loans[loanId];
        _requireActiveLien(loanId, loan);
    }

    function _existingCase(uint256 caseId) private view returns (Case storage c) {
        c = _cases[caseId];
        if (c.loanId == 0) revert CollateralUnknownCase(caseId);
    }

    function _valueMoveBps(uint16 loanValueMoveBps) private view returns (uint16) {
        return loanValueMoveBps != 0 ? loanValueMoveBps : _parameters.defaultValueMoveBps;
    }

    /// @dev Whether outstanding / value exceeds `maxLtvBps`, exactly: outstanding * 10 000 > value * maxLtvBps.
    function _ltvExceeded(uint256 outstanding, uint256 value, uint16 maxLtvBps) private pure returns (bool) {
        return outstanding * _BPS > value * maxLtvBps;
    }

    function _bit(Cause cause) private pure returns (uint16) {
        // forge-lint: disable-next-line(incorrect-shift)
        return uint16(1 << uint8(cause));
    }

    /// @dev A lien status as the `expectedStates` bitmap of `CollateralUnexpectedLienStatus` (bit `uint8(status)`).
    function _lienBit(LienStatus status) private pure returns (bytes32) {
        // forge-lint: disable-next-line(incorrect-shift)
        return bytes32(1 << uint8(status));
    }
}
