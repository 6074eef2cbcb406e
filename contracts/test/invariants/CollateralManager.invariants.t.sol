// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralTestBase} from "../utils/CollateralTestBase.sol";
import {CollateralHandler} from "./CollateralHandler.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

contract CollateralManagerInvariantTest is CollateralTestBase {
    CollateralHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new CollateralHandler(
            manager,
            CollateralHandler.Actors({
                governance: address(membership),
                banks: [bank, otherBank],
                bankIds: [bankId, otherBankId],
                agencies: [agency, otherAgency],
                agencyIds: [agencyId, otherAgencyId],
                dmv: dmv,
                prices: [priceOracle, otherPriceOracle, thirdPriceOracle],
                telematics: telematics,
                risk: insurer
            })
        );

        bytes4[] memory selectors = new bytes4[](21);
        selectors[0] = CollateralHandler.registerLoan.selector;
        selectors[1] = CollateralHandler.confirmLien.selector;
        selectors[2] = CollateralHandler.cancelLoan.selector;
        selectors[3] = CollateralHandler.reportRepayment.selector;
        selectors[4] = CollateralHandler.reportValuation.selector;
        selectors[5] = CollateralHandler.reportTelematicsAlert.selector;
        selectors[6] = CollateralHandler.reportDmvEvent.selector;
        selectors[7] = CollateralHandler.reportRiskWarning.selector;
        selectors[8] = CollateralHandler.clearWatch.selector;
        selectors[9] = CollateralHandler.orderRepossession.selector;
        selectors[10] = CollateralHandler.advance.selector;
        selectors[11] = CollateralHandler.advance.selector; // the happy path twice as often
        selectors[12] = CollateralHandler.forceStep.selector;
        selectors[13] = CollateralHandler.escalate.selector;
        selectors[14] = CollateralHandler.reassignAgency.selector;
        selectors[15] = CollateralHandler.freezeCase.selector;
        selectors[16] = CollateralHandler.resolveFreeze.selector;
        selectors[17] = CollateralHandler.warp.selector;
        selectors[18] = CollateralHandler.reportCurrent.selector;
        selectors[19] = CollateralHandler.setValuationPolicy.selector;
        selectors[20] = CollateralHandler.reportValuation.selector; // several reports per median: twice as often
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---------------------------------------------------------------- invariants

    /// Every move the handler observed is in the legal transition table.
    /// forge-config: default.invariant.depth = 200
    function invariant_casesMoveOnlyAlongLegalTransitions() public view {
        uint256 count = handler.moveCount();
        for (uint256 i = 0; i < count; ++i) {
            CollateralHandler.Move memory move = handler.moveAt(i);
            assertTrue(_legal(move), _describe(move));
        }
    }

    /// No subject ever holds two `Pending`/`Active` liens, and `activeLoanOf` names the one it holds.
    /// forge-config: default.invariant.depth = 200
    function invariant_noSubjectHasTwoActiveLiens() public view {
        bytes32[4] memory subjects = handler.subjects();
        uint256[] memory loans = handler.loanIds();
        for (uint256 s = 0; s < subjects.length; ++s) {
            uint256 live;
            uint256 holder;
            for (uint256 i = 0; i < loans.length; ++i) {
                ICollateralManager.Loan memory loan = manager.getLoan(loans[i]);
                if (loan.subject != subjects[s]) continue;
                if (
                    loan.lienStatus == ICollateralManager.LienStatus.Pending
                        || loan.lienStatus == ICollateralManager.LienStatus.Active
                ) {
                    ++live;
                    holder = loans[i];
                }
            }
            assertLe(live, 1, "two live liens on one subject");
            assertEq(manager.activeLoanOf(subjects[s]), holder, "activeLoanOf disagrees with the liens");
        }
    }

    /// A case seen `Cured`, `Settled` or closed never changes again, in any field.
    /// forge-config: default.invariant.depth = 200
    function invariant_finalCasesNeverChange() public view {
        uint256[] memory finals = handler.finalCases();
        for (uint256 i = 0; i < finals.length; ++i) {
            assertEq(
                keccak256(abi.encode(manager.getCase(finals[i]))),
                handler.finalRecord(finals[i]),
                "a final case changed"
            );
        }
    }

    /// Every accepted valuation left the loan with the median of the fresh observations once the quorum was met,
    /// and unchanged below it.
    /// forge-config: default.invariant.depth = 200
    function invariant_publishedValueIsTheMedianOfFreshObservations() public view {
        assertEq(handler.valuationMismatches(), 0, "a published value differs from the median");
    }

    // ---------------------------------------------------------------- the table itself can fail

    function test_legalTable_acceptsTheDocumentedMoves() public pure {
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.None,
                    ICollateralManager.CaseState.Watch,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.None,
                    ICollateralManager.CaseState.Triggered,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Watch,
                    ICollateralManager.CaseState.Triggered,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Watch,
                    ICollateralManager.CaseState.None,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Triggered,
                    ICollateralManager.CaseState.Cured,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Auctioned,
                    ICollateralManager.CaseState.Settled,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Appraised,
                    ICollateralManager.CaseState.Frozen,
                    false,
                    ICollateralManager.CaseState.Appraised
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Frozen,
                    ICollateralManager.CaseState.Appraised,
                    false,
                    ICollateralManager.CaseState.Appraised
                )
            )
        );
        assertTrue(
            _legal(
                _move(
                    ICollateralManager.CaseState.Frozen,
                    ICollateralManager.CaseState.None,
                    false,
                    ICollateralManager.CaseState.Appraised
                )
            )
        );
    }

    function test_legalTable_rejectsIllegalMoves() public pure {
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.None,
                    ICollateralManager.CaseState.Watch,
                    true,
                    ICollateralManager.CaseState.None
                )
            )
        ); // a closed case reopened
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.None,
                    ICollateralManager.CaseState.Settled,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Watch,
                    ICollateralManager.CaseState.Frozen,
                    false,
                    ICollateralManager.CaseState.Watch
                )
            )
        );
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Triggered,
                    ICollateralManager.CaseState.Repossessed,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Cured,
                    ICollateralManager.CaseState.Triggered,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Settled,
                    ICollateralManager.CaseState.Frozen,
                    false,
                    ICollateralManager.CaseState.Settled
                )
            )
        );
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Appraised,
                    ICollateralManager.CaseState.Frozen,
                    false,
                    ICollateralManager.CaseState.Repossessed
                )
            )
        ); // wrong remembered state
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Frozen,
                    ICollateralManager.CaseState.Auctioned,
                    false,
                    ICollateralManager.CaseState.Appraised
                )
            )
        ); // restored to another state
        assertFalse(
            _legal(
                _move(
                    ICollateralManager.CaseState.Repossessed,
                    ICollateralManager.CaseState.Auctioned,
                    false,
                    ICollateralManager.CaseState.None
                )
            )
        );
    }

    // ---------------------------------------------------------------- the legal table

    /// @dev The bit of a state in a mask.
    function _s(ICollateralManager.CaseState state) private pure returns (uint256) {
        // forge-lint: disable-next-line(incorrect-shift)
        return 1 << uint8(state);
    }

    /// @dev The transitions ICollateralManager documents, and nothing else.
    function _legal(CollateralHandler.Move memory m) internal pure returns (bool) {
        if (m.reopened) return false;
        uint256 to = _s(m.to);
        uint256 freezable = _s(ICollateralManager.CaseState.Triggered)
            | _s(ICollateralManager.CaseState.RepossessionOrdered) | _s(ICollateralManager.CaseState.Repossessed)
            | _s(ICollateralManager.CaseState.Appraised) | _s(ICollateralManager.CaseState.Auctioned);
        if (m.to == ICollateralManager.CaseState.Frozen) return _s(m.from) & freezable != 0 && m.frozenFrom == m.from;
        if (m.from == ICollateralManager.CaseState.None) {
            return to & (_s(ICollateralManager.CaseState.Watch) | _s(ICollateralManager.CaseState.Triggered)) != 0;
        }
        if (m.from == ICollateralManager.CaseState.Watch) {
            return to & (_s(ICollateralManager.CaseState.Triggered) | _s(ICollateralManager.CaseState.None)) != 0;
        }
        if (m.from == ICollateralManager.CaseState.Triggered) {
            return
                to & (_s(ICollateralManager.CaseState.Cured) | _s(ICollateralManager.CaseState.RepossessionOrdered))
                    != 0;
        }
        if (m.from == ICollateralManager.CaseState.RepossessionOrdered) {
            return m.to == ICollateralManager.CaseState.Repossessed;
        }
        if (m.from == ICollateralManager.CaseState.Repossessed) return m.to == ICollateralManager.CaseState.Appraised;
        if (m.from == ICollateralManager.CaseState.Appraised) return m.to == ICollateralManager.CaseState.Auctioned;
        if (m.from == ICollateralManager.CaseState.Auctioned) return m.to == ICollateralManager.CaseState.Settled;
        if (m.from == ICollateralManager.CaseState.Frozen) {
            return m.to == ICollateralManager.CaseState.None || (to & freezable != 0 && m.to == m.frozenFrom);
        }
        return false; // Cured and Settled are final
    }

    function _move(
        ICollateralManager.CaseState from,
        ICollateralManager.CaseState to,
        bool reopened,
        ICollateralManager.CaseState frozenFrom
    ) private pure returns (CollateralHandler.Move memory) {
        return CollateralHandler.Move({caseId: 1, from: from, to: to, reopened: reopened, frozenFrom: frozenFrom});
    }

    function _describe(CollateralHandler.Move memory m) private pure returns (string memory) {
        return string.concat(
            "illegal move of case ",
            vm.toString(m.caseId),
            ": ",
            vm.toString(uint256(uint8(m.from))),
            " -> ",
            vm.toString(uint256(uint8(m.to)))
        );
    }
}
